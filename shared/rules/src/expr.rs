//! The boolean expression tree shared by HTTP and TCP rules.

use std::fmt;

/// A parsed rule: matchers combined with `!`, `&&` and `||`.
///
/// `And` and `Or` are n-ary and kept *flat*: an `And` never has an `And`
/// child and an `Or` never has an `Or` child, and both have at least two
/// children. The parser and the [`Expr::and`] / [`Expr::or`] constructors
/// maintain that invariant, which is what makes the printed form canonical
/// (`a && (b && c)` and `(a && b) && c` are the same tree). Trees built by
/// hand without the constructors still evaluate correctly but may not print
/// back to an identical tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr<M> {
    /// A single matcher such as `Host(`example.com`)`.
    Matcher(M),
    /// Negation (`!x`).
    Not(Box<Expr<M>>),
    /// Conjunction (`a && b && ...`): true when every child is.
    And(Vec<Expr<M>>),
    /// Disjunction (`a || b || ...`): true when any child is.
    Or(Vec<Expr<M>>),
}

impl<M> Expr<M> {
    /// `a && b`, flattening nested conjunctions.
    pub fn and(a: Expr<M>, b: Expr<M>) -> Expr<M> {
        // Reuse the left operand's vector so left-to-right chains build in
        // linear time.
        let mut children = match a {
            Expr::And(inner) => inner,
            other => vec![other],
        };
        match b {
            Expr::And(inner) => children.extend(inner),
            other => children.push(other),
        }
        Expr::And(children)
    }

    /// `a || b`, flattening nested disjunctions.
    pub fn or(a: Expr<M>, b: Expr<M>) -> Expr<M> {
        // Reuse the left operand's vector so left-to-right chains build in
        // linear time.
        let mut children = match a {
            Expr::Or(inner) => inner,
            other => vec![other],
        };
        match b {
            Expr::Or(inner) => children.extend(inner),
            other => children.push(other),
        }
        Expr::Or(children)
    }

    /// `!x`.
    #[allow(clippy::should_implement_trait)]
    pub fn not(x: Expr<M>) -> Expr<M> {
        Expr::Not(Box::new(x))
    }

    /// Evaluates the tree with `leaf` deciding each matcher, short-circuiting
    /// left to right like Traefik does.
    pub fn eval(&self, leaf: &mut impl FnMut(&M) -> bool) -> bool {
        match self {
            Expr::Matcher(m) => leaf(m),
            Expr::Not(x) => !x.eval(leaf),
            Expr::And(children) => children.iter().all(|c| c.eval(leaf)),
            Expr::Or(children) => children.iter().any(|c| c.eval(leaf)),
        }
    }

    /// Calls `f` on every matcher, negated or not, left to right.
    pub fn for_each_matcher<'a>(&'a self, f: &mut impl FnMut(&'a M)) {
        match self {
            Expr::Matcher(m) => f(m),
            Expr::Not(x) => x.for_each_matcher(f),
            Expr::And(children) | Expr::Or(children) => {
                for c in children {
                    c.for_each_matcher(f);
                }
            }
        }
    }
}

impl<M: fmt::Display> Expr<M> {
    fn fmt_child(&self, f: &mut fmt::Formatter<'_>, parenthesize: bool) -> fmt::Result {
        if parenthesize {
            write!(f, "({self})")
        } else {
            write!(f, "{self}")
        }
    }
}

/// Prints the canonical form: canonical matcher names, backtick-quoted values
/// (double quotes only when a value cannot be written raw) and only the
/// parentheses that precedence requires.
impl<M: fmt::Display> fmt::Display for Expr<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Matcher(m) => write!(f, "{m}"),
            Expr::Not(x) => {
                f.write_str("!")?;
                x.fmt_child(f, matches!(**x, Expr::And(_) | Expr::Or(_)))
            }
            Expr::And(children) => {
                for (i, c) in children.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" && ")?;
                    }
                    // A nested And only exists in hand-built trees; keeping its
                    // parentheses preserves the grouping.
                    c.fmt_child(f, matches!(c, Expr::Or(_) | Expr::And(_)))?;
                }
                Ok(())
            }
            Expr::Or(children) => {
                for (i, c) in children.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" || ")?;
                    }
                    c.fmt_child(f, matches!(c, Expr::Or(_)))?;
                }
                Ok(())
            }
        }
    }
}

/// Writes `value` as a rule string literal: backticks when possible, else a
/// double-quoted Go string.
pub(crate) fn write_literal(f: &mut fmt::Formatter<'_>, value: &str) -> fmt::Result {
    // Raw strings cannot hold a backtick, and Go drops '\r' from them.
    if !value.contains(['`', '\r']) {
        return write!(f, "`{value}`");
    }
    f.write_str("\"")?;
    for c in value.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if (c as u32) < 0x20 || c == '\u{7f}' => write!(f, "\\x{:02x}", c as u32)?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}
