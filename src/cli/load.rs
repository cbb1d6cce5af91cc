//! Reading an app.scratch and its imports from disk (in progress).
