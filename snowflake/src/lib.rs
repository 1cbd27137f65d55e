//! snowflake: skeleton, being written.
