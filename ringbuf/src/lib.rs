//! ringbuf: skeleton, being written.
