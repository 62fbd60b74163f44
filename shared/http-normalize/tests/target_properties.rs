//! Property tests for request-target normalisation.

use proptest::prelude::*;
use switchyard_http_normalize::{normalize_path, normalize_target};

/// Targets built from the pieces that matter (slashes, dots, escapes, odd bytes), so that
/// most generated inputs are valid and exercise the rewriting paths.
fn path_like(with_invalid: bool) -> impl Strategy<Value = String> {
    let valid = prop_oneof![
        Just("/".to_owned()),
        Just("//".to_owned()),
        Just(".".to_owned()),
        Just("..".to_owned()),
        Just("%2e".to_owned()),
        Just("%2E".to_owned()),
        Just("%2f".to_owned()),
        Just("%25".to_owned()),
        Just("%7e".to_owned()),
        Just("%41".to_owned()),
        Just("%3a".to_owned()),
        Just("?".to_owned()),
        Just("\\".to_owned()),
        Just("\u{e9}".to_owned()),
        Just("[]".to_owned()),
        "[a-zA-Z0-9._~!$&'()*+,;=:@-]{1,4}",
    ];
    let invalid = prop_oneof![
        Just("%zz".to_owned()),
        Just("%".to_owned()),
        Just("%4".to_owned()),
        Just("#".to_owned()),
        Just(" ".to_owned()),
        Just("\t".to_owned()),
    ];
    // Invalid pieces are rare enough that most targets still parse.
    let piece = if with_invalid {
        prop_oneof![8 => valid, 1 => invalid].boxed()
    } else {
        valid.boxed()
    };
    prop::collection::vec(piece, 0..16).prop_map(|pieces| {
        let mut target = String::from("/");
        target.extend(pieces);
        target
    })
}

fn check_normal_path(path: &str) -> Result<(), TestCaseError> {
    prop_assert!(path.starts_with('/'), "{path:?} does not start with /");
    prop_assert!(!path.contains("//"), "{path:?} contains //");
    prop_assert!(!path.contains("/./"), "{path:?} contains /./");
    prop_assert!(!path.contains("/../"), "{path:?} contains /../");
    prop_assert!(
        !path.ends_with("/.") && !path.ends_with("/.."),
        "{path:?} ends in a dot segment"
    );
    prop_assert!(path.is_ascii(), "{path:?} is not ASCII");
    prop_assert!(
        !path.contains('#') && !path.contains('?'),
        "{path:?} has # or ?"
    );
    Ok(())
}

fn check_idempotent(input: &str) -> Result<(), TestCaseError> {
    let Ok(first) = normalize_target(input) else {
        return Ok(());
    };
    if first.is_asterisk() {
        return Ok(());
    }
    check_normal_path(&first.path)?;
    let again = normalize_target(&first.request_uri())
        .map(|t| (t.path.into_owned(), t.query.map(|q| q.into_owned())));
    let want = (
        first.path.clone().into_owned(),
        first.query.clone().map(|q| q.into_owned()),
    );
    prop_assert_eq!(again, Ok(want), "input {:?}", input);
    // The path alone is a fixed point too.
    let path_again = normalize_path(&first.path).map(|p| p.into_owned());
    prop_assert_eq!(path_again, Ok(first.path.into_owned()));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn idempotent_on_valid_targets(target in path_like(false)) {
        // Every generated target is valid, so the property is never skipped.
        prop_assert!(normalize_target(&target).is_ok(), "{target:?} refused");
        check_idempotent(&target)?;
    }

    #[test]
    fn idempotent_or_refused_with_invalid_pieces(target in path_like(true)) {
        check_idempotent(&target)?;
    }

    #[test]
    fn idempotent_on_absolute_targets(host in "[a-z0-9.-]{1,12}", path in path_like(false)) {
        let target = format!("http://{host}{path}");
        let first = normalize_target(&target);
        prop_assert!(first.is_ok(), "{target:?} refused: {first:?}");
        if let Ok(first) = first {
            check_normal_path(&first.path)?;
            let again = normalize_target(&first.path).map(|t| t.path.into_owned());
            prop_assert_eq!(again, Ok(first.path.into_owned()));
        }
    }

    #[test]
    fn never_panics_on_arbitrary_strings(target in any::<String>()) {
        check_idempotent(&target)?;
        let _ = normalize_path(&target);
    }

    #[test]
    fn never_panics_on_printable_ascii(target in "[ -~]{0,48}") {
        check_idempotent(&target)?;
    }
}
