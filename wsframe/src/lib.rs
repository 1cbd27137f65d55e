//! wsframe: skeleton, being written.
