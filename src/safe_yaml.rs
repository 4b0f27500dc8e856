//! YAML from outside input (the `kube-router.io/peers` annotation, kubeconfig files),
//! loaded with bounds: a size cap, a nesting-depth cap and a node-count cap, and no
//! anchors or aliases at all (an alias "bomb" of a kilobyte expands to gigabytes in a
//! loader that copies aliased nodes, as yaml-rust2's does).
//!
//! Owns only the checks: the input is first walked event by event (nothing is built, so
//! nothing can grow beyond the input), and only input that passes is handed to
//! yaml-rust2's loader, which then costs time and memory linear in its size. Must not
//! know what the YAML means; callers read the returned document.

use std::fmt;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::{Yaml, YamlLoader};

/// Bounds for one kind of input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct YamlLimits {
    /// Largest input, in bytes.
    pub(crate) max_bytes: usize,
    /// Deepest nesting of sequences and mappings.
    pub(crate) max_depth: usize,
    /// Most scalars, sequences and mappings in the whole input.
    pub(crate) max_nodes: usize,
}

/// A node annotation holding YAML (`kube-router.io/peers`): a list of small mappings.
pub(crate) const ANNOTATION_LIMITS: YamlLimits = YamlLimits {
    max_bytes: 64 * 1024,
    max_depth: 16,
    max_nodes: 20_000,
};

/// A kubeconfig file: a few clusters, users and contexts, certificates inline.
pub(crate) const KUBECONFIG_LIMITS: YamlLimits = YamlLimits {
    max_bytes: 4 * 1024 * 1024,
    max_depth: 32,
    max_nodes: 200_000,
};

/// Why YAML input was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SafeYamlError {
    TooLarge {
        bytes: usize,
        max: usize,
    },
    TooDeep {
        max: usize,
    },
    TooManyNodes {
        max: usize,
    },
    /// An anchor (`&name`) or alias (`*name`).
    Alias,
    /// Not YAML (the parser's message, with line and column).
    Syntax(String),
}

impl fmt::Display for SafeYamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SafeYamlError::TooLarge { bytes, max } => {
                write!(f, "{bytes} bytes, more than the {max} accepted")
            }
            SafeYamlError::TooDeep { max } => {
                write!(f, "nested deeper than {max} levels")
            }
            SafeYamlError::TooManyNodes { max } => {
                write!(f, "more than {max} values")
            }
            SafeYamlError::Alias => f.write_str(
                "YAML anchors and aliases (&name, *name) are not accepted; write each value out",
            ),
            SafeYamlError::Syntax(e) => write!(f, "invalid YAML: {e}"),
        }
    }
}

impl std::error::Error for SafeYamlError {}

/// Checks `text` against `limits` without building anything.
fn check(text: &str, limits: &YamlLimits) -> Result<(), SafeYamlError> {
    if text.len() > limits.max_bytes {
        return Err(SafeYamlError::TooLarge {
            bytes: text.len(),
            max: limits.max_bytes,
        });
    }
    let mut parser = Parser::new_from_str(text);
    let mut depth = 0usize;
    let mut nodes = 0usize;
    loop {
        let (ev, _) = parser
            .next_token()
            .map_err(|e| SafeYamlError::Syntax(e.to_string()))?;
        let anchored = match ev {
            Event::StreamEnd => return Ok(()),
            Event::Alias(_) => return Err(SafeYamlError::Alias),
            Event::Scalar(_, _, anchor, _) => anchor,
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                depth += 1;
                if depth > limits.max_depth {
                    return Err(SafeYamlError::TooDeep {
                        max: limits.max_depth,
                    });
                }
                anchor
            }
            Event::SequenceEnd | Event::MappingEnd => {
                depth = depth.saturating_sub(1);
                continue;
            }
            _ => continue,
        };
        // Anchor ids start at 1; 0 means none.
        if anchored != 0 {
            return Err(SafeYamlError::Alias);
        }
        nodes += 1;
        if nodes > limits.max_nodes {
            return Err(SafeYamlError::TooManyNodes {
                max: limits.max_nodes,
            });
        }
    }
}

/// The first document of `text` (`Yaml::Null` when there is none), if `text` is within
/// `limits` and has no anchors or aliases.
pub(crate) fn load_first(text: &str, limits: &YamlLimits) -> Result<Yaml, SafeYamlError> {
    check(text, limits)?;
    let docs = YamlLoader::load_from_str(text).map_err(|e| SafeYamlError::Syntax(e.to_string()))?;
    Ok(docs.into_iter().next().unwrap_or(Yaml::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: YamlLimits = YamlLimits {
        max_bytes: 4096,
        max_depth: 4,
        max_nodes: 50,
    };

    #[test]
    fn plain_yaml_and_json_load() {
        let y = load_first("- remoteip: 10.0.0.1\n  remoteasn: 65000\n", &SMALL).unwrap();
        assert_eq!(y[0]["remoteip"].as_str(), Some("10.0.0.1"));
        assert_eq!(y[0]["remoteasn"].as_i64(), Some(65000));
        let j = load_first(r#"[{"remoteip": "10.0.0.2", "remoteasn": 65001}]"#, &SMALL).unwrap();
        assert_eq!(j[0]["remoteip"].as_str(), Some("10.0.0.2"));
        assert_eq!(load_first("", &SMALL).unwrap(), Yaml::Null);
    }

    /// The classic "billion laughs": refused at the first anchor, before any copy.
    #[test]
    fn alias_bomb_is_refused_without_expanding() {
        let mut bomb = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        let mut prev = 'a';
        for c in 'b'..='i' {
            bomb.push_str(&format!(
                "{c}: &{c} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
            ));
            prev = c;
        }
        assert!(bomb.len() < 1024, "{}", bomb.len());
        let limits = YamlLimits {
            max_nodes: 1_000_000,
            max_depth: 100,
            ..SMALL
        };
        assert_eq!(load_first(&bomb, &limits), Err(SafeYamlError::Alias));
        // An anchor alone is refused too; an alias to no anchor is not YAML.
        assert_eq!(load_first("a: &x 1\n", &SMALL), Err(SafeYamlError::Alias));
        assert!(matches!(
            load_first("a: *x\n", &SMALL),
            Err(SafeYamlError::Syntax(_))
        ));
        assert!(SafeYamlError::Alias.to_string().contains("aliases"));
    }

    #[test]
    fn size_depth_and_node_caps() {
        let big = "x".repeat(5000);
        assert_eq!(
            load_first(&big, &SMALL),
            Err(SafeYamlError::TooLarge {
                bytes: 5000,
                max: 4096
            })
        );
        assert!(load_first("[[[[1]]]]", &SMALL).is_ok());
        assert_eq!(
            load_first("[[[[[1]]]]]", &SMALL),
            Err(SafeYamlError::TooDeep { max: 4 })
        );
        let deep_block = "a:\n b:\n  c:\n   d:\n    e: 1\n";
        assert_eq!(
            load_first(deep_block, &SMALL),
            Err(SafeYamlError::TooDeep { max: 4 })
        );
        let many: String = (0..60).map(|i| format!("- {i}\n")).collect();
        assert_eq!(
            load_first(&many, &SMALL),
            Err(SafeYamlError::TooManyNodes { max: 50 })
        );
        // Very deep flow nesting (within the byte cap) is refused early: by the depth
        // cap, or by the scanner's own nesting limit, which it reaches first.
        let deep = "[".repeat(4000);
        assert!(matches!(
            load_first(&deep, &SMALL),
            Err(SafeYamlError::TooDeep { .. } | SafeYamlError::Syntax(_))
        ));
    }

    #[test]
    fn syntax_errors_carry_the_position() {
        let e = load_first("a: [1, 2\nb: }", &SMALL).unwrap_err();
        assert!(matches!(e, SafeYamlError::Syntax(_)), "{e:?}");
        assert!(e.to_string().contains("line"), "{e}");
    }
}
