//! Recursive-descent parser shared by HTTP and TCP rules.

use crate::lexer::{Token, TokenKind, tokenize};
use crate::{Expr, Protocol, RuleError};

/// Deepest nesting of parentheses and `!` accepted. Evaluation, printing and
/// dropping recurse over the tree, so untrusted rules must not nest without
/// bound; `&&`/`||` chains are flat and do not count.
pub const MAX_NESTING: usize = 128;

/// Every matcher name known to either protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Name {
    Host,
    HostRegexp,
    Path,
    PathPrefix,
    PathRegexp,
    Method,
    Header,
    HeaderRegexp,
    Query,
    QueryRegexp,
    ClientIp,
    HostSni,
    HostSniRegexp,
    Alpn,
}

impl Name {
    const ALL: [Name; 14] = [
        Name::Host,
        Name::HostRegexp,
        Name::Path,
        Name::PathPrefix,
        Name::PathRegexp,
        Name::Method,
        Name::Header,
        Name::HeaderRegexp,
        Name::Query,
        Name::QueryRegexp,
        Name::ClientIp,
        Name::HostSni,
        Name::HostSniRegexp,
        Name::Alpn,
    ];

    /// The spelling used in Traefik's documentation.
    pub(crate) fn canonical(self) -> &'static str {
        match self {
            Name::Host => "Host",
            Name::HostRegexp => "HostRegexp",
            Name::Path => "Path",
            Name::PathPrefix => "PathPrefix",
            Name::PathRegexp => "PathRegexp",
            Name::Method => "Method",
            Name::Header => "Header",
            Name::HeaderRegexp => "HeaderRegexp",
            Name::Query => "Query",
            Name::QueryRegexp => "QueryRegexp",
            Name::ClientIp => "ClientIP",
            Name::HostSni => "HostSNI",
            Name::HostSniRegexp => "HostSNIRegexp",
            Name::Alpn => "ALPN",
        }
    }

    fn supports(self, protocol: Protocol) -> bool {
        match self {
            Name::ClientIp => true,
            Name::HostSni | Name::HostSniRegexp | Name::Alpn => protocol == Protocol::Tcp,
            _ => protocol == Protocol::Http,
        }
    }

    fn lookup(name: &str) -> Option<Name> {
        Name::ALL
            .into_iter()
            .find(|n| n.canonical().eq_ignore_ascii_case(name))
    }
}

/// A matcher type one protocol's rules are made of.
pub(crate) trait Matcher: Sized {
    const PROTOCOL: Protocol;

    /// Validates `args` for matcher `name` (already known to support this
    /// protocol). `column` is where the name starts, for errors.
    fn build(name: Name, args: Vec<String>, column: usize) -> Result<Self, RuleError>;
}

/// Parses a whole rule.
pub(crate) fn parse<M: Matcher>(input: &str) -> Result<Expr<M>, RuleError> {
    let tokens = tokenize(input)?;
    if matches!(tokens.first().map(|t| &t.kind), Some(TokenKind::Eof) | None) {
        return Err(RuleError::Empty);
    }
    let mut parser = Parser { tokens, pos: 0 };
    let expr = parser.or_expr::<M>(0)?;
    // Go consumes one implicit semicolon at the very end of the input.
    if parser.peek().kind == TokenKind::Newline
        && parser.tokens.get(parser.pos + 1).map(|t| &t.kind) == Some(&TokenKind::Eof)
    {
        parser.pos += 1;
    }
    let token = parser.peek();
    if token.kind != TokenKind::Eof {
        return Err(unexpected_or_expected(token, "'&&', '||' or end of rule"));
    }
    Ok(expr)
}

fn unexpected_or_expected(token: &Token, expected: &str) -> RuleError {
    match token.kind {
        TokenKind::Eof => RuleError::Expected {
            expected: expected.to_owned(),
            column: token.column,
        },
        _ => RuleError::Unexpected {
            found: token.kind.describe(),
            column: token.column,
        },
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        // The token list always ends with Eof and `pos` never moves past it.
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        if token.kind != TokenKind::Eof {
            self.pos += 1;
        }
        token
    }

    fn or_expr<M: Matcher>(&mut self, depth: usize) -> Result<Expr<M>, RuleError> {
        let mut expr = self.and_expr::<M>(depth)?;
        while self.peek().kind == TokenKind::OrOr {
            self.pos += 1;
            let rhs = self.and_expr::<M>(depth)?;
            expr = Expr::or(expr, rhs);
        }
        Ok(expr)
    }

    fn and_expr<M: Matcher>(&mut self, depth: usize) -> Result<Expr<M>, RuleError> {
        let mut expr = self.unary::<M>(depth)?;
        while self.peek().kind == TokenKind::AndAnd {
            self.pos += 1;
            let rhs = self.unary::<M>(depth)?;
            expr = Expr::and(expr, rhs);
        }
        Ok(expr)
    }

    fn unary<M: Matcher>(&mut self, depth: usize) -> Result<Expr<M>, RuleError> {
        // Count bangs iteratively so a long `!!!!` run cannot recurse.
        let mut bangs = 0;
        while self.peek().kind == TokenKind::Bang {
            let column = self.peek().column;
            bangs += 1;
            if depth + bangs > MAX_NESTING {
                return Err(RuleError::TooDeep { column });
            }
            self.pos += 1;
        }
        let mut expr = self.primary::<M>(depth + bangs)?;
        for _ in 0..bangs {
            expr = Expr::not(expr);
        }
        Ok(expr)
    }

    fn primary<M: Matcher>(&mut self, depth: usize) -> Result<Expr<M>, RuleError> {
        let token = self.advance();
        match token.kind {
            TokenKind::LParen => {
                if depth + 1 > MAX_NESTING {
                    return Err(RuleError::TooDeep {
                        column: token.column,
                    });
                }
                let expr = self.or_expr::<M>(depth + 1)?;
                let close = self.advance();
                if close.kind != TokenKind::RParen {
                    return Err(unexpected_or_expected(&close, "')'"));
                }
                Ok(expr)
            }
            TokenKind::Ident(name) => self.call::<M>(&name, token.column),
            _ => Err(unexpected_or_expected(&token, "a matcher, '(' or '!'")),
        }
    }

    fn call<M: Matcher>(&mut self, name: &str, column: usize) -> Result<Expr<M>, RuleError> {
        let resolved = Name::lookup(name).ok_or_else(|| RuleError::UnknownMatcher {
            name: name.to_owned(),
            column,
        })?;
        if !resolved.supports(M::PROTOCOL) {
            let matcher_protocol = match M::PROTOCOL {
                Protocol::Http => Protocol::Tcp,
                Protocol::Tcp => Protocol::Http,
            };
            return Err(RuleError::WrongProtocol {
                name: resolved.canonical(),
                matcher_protocol,
                rule_protocol: M::PROTOCOL,
                column,
            });
        }
        let open = self.advance();
        if open.kind != TokenKind::LParen {
            return Err(unexpected_or_expected(&open, "'(' after matcher name"));
        }
        let mut args = Vec::new();
        if self.peek().kind == TokenKind::RParen {
            self.pos += 1;
        } else {
            loop {
                let arg = self.advance();
                match arg.kind {
                    TokenKind::Str(value) => args.push(value),
                    _ => {
                        return Err(unexpected_or_expected(
                            &arg,
                            "a string literal (in backticks or double quotes)",
                        ));
                    }
                }
                let sep = self.advance();
                match sep.kind {
                    TokenKind::RParen => break,
                    // Go accepts a trailing comma in a call.
                    TokenKind::Comma if self.peek().kind == TokenKind::RParen => {
                        self.pos += 1;
                        break;
                    }
                    TokenKind::Comma => {}
                    _ => return Err(unexpected_or_expected(&sep, "')'")),
                }
            }
        }
        M::build(resolved, args, column).map(Expr::Matcher)
    }
}

/// Checks the argument count and that no argument is empty (Traefik's
/// `CheckRule` rejects empty arguments for every matcher).
pub(crate) fn check_args(
    name: Name,
    args: &[String],
    allowed: &[usize],
    column: usize,
) -> Result<(), RuleError> {
    if !allowed.contains(&args.len()) {
        let expected = match allowed {
            [1] => "1 argument",
            [2] => "2 arguments",
            _ => "1 or 2 arguments",
        };
        return Err(RuleError::Arity {
            matcher: name.canonical(),
            expected,
            got: args.len(),
            column,
        });
    }
    if args.iter().any(String::is_empty) {
        return Err(RuleError::EmptyArgument {
            matcher: name.canonical(),
            column,
        });
    }
    Ok(())
}
