//! lsm: skeleton, being written.
