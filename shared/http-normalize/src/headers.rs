//! The small header-map abstraction the normaliser works on, and an owned implementation.
//!
//! The crate does not depend on any HTTP crate: the proxy implements [`Headers`] for its
//! own header map, the CLI and the tests use [`HeaderList`].

use std::borrow::Cow;

/// A mutable, multi-valued header map with case-insensitive names.
///
/// Implementations must compare names ASCII case-insensitively; `_` and `-` are different
/// characters (a `X_Forwarded_For` header is not `X-Forwarded-For`).
pub trait Headers {
    /// Every value of the header `name`, in the order received. Values that are not valid
    /// UTF-8 may be returned lossily converted or skipped.
    fn get_all(&self, name: &str) -> Vec<Cow<'_, str>>;

    /// The first value of `name`, if any.
    fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        self.get_all(name).into_iter().next()
    }

    /// Removes every value of `name`.
    fn remove(&mut self, name: &str);

    /// Replaces every value of `name` with the single `value`.
    fn set(&mut self, name: &str, value: &str);

    /// Adds `value` as one more value of `name`.
    fn append(&mut self, name: &str, value: &str);

    /// The distinct header names present, each once.
    fn names(&self) -> Vec<Cow<'_, str>>;
}

/// An owned, ordered list of `(name, value)` pairs implementing [`Headers`].
///
/// Names keep the case they were given in; look-ups ignore ASCII case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderList {
    entries: Vec<(String, String)>,
}

impl HeaderList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a header line at the end (same as [`Headers::append`]).
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.entries.push((name.into(), value.into()));
    }

    /// The header lines in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no header line.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether a header `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.entries
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// The header lines as owned pairs.
    pub fn into_vec(self) -> Vec<(String, String)> {
        self.entries
    }
}

impl From<Vec<(String, String)>> for HeaderList {
    fn from(entries: Vec<(String, String)>) -> Self {
        Self { entries }
    }
}

impl<N: Into<String>, V: Into<String>> FromIterator<(N, V)> for HeaderList {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        Self {
            entries: iter
                .into_iter()
                .map(|(n, v)| (n.into(), v.into()))
                .collect(),
        }
    }
}

impl Headers for HeaderList {
    fn get_all(&self, name: &str) -> Vec<Cow<'_, str>> {
        self.entries
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| Cow::Borrowed(v.as_str()))
            .collect()
    }

    fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        self.entries
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| Cow::Borrowed(v.as_str()))
    }

    fn remove(&mut self, name: &str) {
        self.entries.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    fn set(&mut self, name: &str, value: &str) {
        // The first line keeps its place so that header order stays stable.
        match self
            .entries
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(first) => {
                value.clone_into(&mut self.entries[first].1);
                let mut index = 0;
                self.entries.retain(|(n, _)| {
                    let keep = index <= first || !n.eq_ignore_ascii_case(name);
                    index += 1;
                    keep
                });
            }
            None => self.entries.push((name.to_owned(), value.to_owned())),
        }
    }

    fn append(&mut self, name: &str, value: &str) {
        self.entries.push((name.to_owned(), value.to_owned()));
    }

    fn names(&self) -> Vec<Cow<'_, str>> {
        let mut names: Vec<Cow<'_, str>> = Vec::new();
        for (name, _) in &self.entries {
            if !names.iter().any(|seen| seen.eq_ignore_ascii_case(name)) {
                names.push(Cow::Borrowed(name.as_str()));
            }
        }
        names
    }
}

#[cfg(test)]
mod tests {
    use super::{HeaderList, Headers};

    fn list(pairs: &[(&str, &str)]) -> HeaderList {
        pairs.iter().copied().collect()
    }

    #[test]
    fn header_list_operations() {
        type Op = fn(&mut HeaderList);
        type Lines = &'static [(&'static str, &'static str)];
        let cases: [(&str, Op, Lines); 6] = [
            ("remove ignores case", |h| h.remove("x-a"), &[("B", "2")]),
            (
                "set replaces all, keeps first position",
                |h| h.set("x-A", "9"),
                &[("X-A", "9"), ("B", "2")],
            ),
            (
                "set adds when absent",
                |h| h.set("C", "3"),
                &[("X-A", "1"), ("B", "2"), ("x-a", "3"), ("C", "3")],
            ),
            (
                "append keeps existing",
                |h| h.append("b", "4"),
                &[("X-A", "1"), ("B", "2"), ("x-a", "3"), ("b", "4")],
            ),
            (
                "underscore is not dash",
                |h| h.remove("X_A"),
                &[("X-A", "1"), ("B", "2"), ("x-a", "3")],
            ),
            (
                "remove absent is a no-op",
                |h| h.remove("nope"),
                &[("X-A", "1"), ("B", "2"), ("x-a", "3")],
            ),
        ];
        for (case, op, want) in cases {
            let mut headers = list(&[("X-A", "1"), ("B", "2"), ("x-a", "3")]);
            op(&mut headers);
            assert_eq!(headers, list(want), "{case}");
        }
    }

    #[test]
    fn header_list_reads() {
        let headers = list(&[("X-A", "1"), ("B", "2"), ("x-a", "3")]);
        assert_eq!(headers.get_all("X-a"), ["1", "3"]);
        assert_eq!(headers.get("x-A").as_deref(), Some("1"));
        assert_eq!(headers.get("c"), None);
        assert_eq!(headers.names(), ["X-A", "B"]);
        assert!(headers.contains("b"));
        assert_eq!(headers.len(), 3);
        assert!(!headers.is_empty());
        assert_eq!(headers.iter().last(), Some(("x-a", "3")));
    }
}
