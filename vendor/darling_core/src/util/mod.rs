//! Utility types for attribute parsing.

mod callable;
mod flag;
mod ident_string;
mod ignored;
mod over_ride;
mod parse_attribute;
pub mod parse_expr;
mod path_list;
mod path_to_string;
mod shape;
mod spanned_value;
mod with_original;

pub use self::callable::Callable;
pub use self::flag::Flag;
pub use self::ident_string::IdentString;
pub use self::ignored::Ignored;
pub use self::over_ride::Override;
pub use self::parse_attribute::parse_attribute_to_meta_list;
pub use self::path_list::PathList;
pub use self::path_to_string::path_to_string;
pub use self::shape::{AsShape, Shape, ShapeSet};
pub use self::spanned_value::SpannedValue;
pub use self::with_original::WithOriginal;
