//! The BuildKit client (in progress).
