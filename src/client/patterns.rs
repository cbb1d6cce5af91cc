//! `.dockerignore`-style path patterns (in progress).
