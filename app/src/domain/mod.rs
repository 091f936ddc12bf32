//! Server-side domain code, shared by server functions, the REST API and the worker.

pub mod db;
