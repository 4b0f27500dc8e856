//! Utility types for working with the AST.

mod data;
mod generics;

pub use self::data::*;
pub use self::generics::{GenericParam, GenericParamExt, Generics};
