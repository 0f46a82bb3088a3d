//! Placeholder, filled in below.
use super::Fail2banTree;

/// The tree as bantam's native TOML.
pub fn render_native_toml(_tree: &Fail2banTree) -> String {
    String::new()
}
