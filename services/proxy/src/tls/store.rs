//! The certificate store and the compiled TLS options, each behind an `ArcSwap`: a
//! handshake only loads the current maps, and every change swaps in new ones.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use rustls::sign::CertifiedKey;
use switchyard_bus::SealKey;
use switchyard_bus::messages::{CertificateRecord, TlsAlpn01Challenge};
use switchyard_model::tls::{TlsConfig, TlsOptions};

use super::cert::{self, CertError, Certificate};
use super::options::{self, OptionsError};

/// Name of the TLS options (and certificate store) used when none is named.
pub const DEFAULT: &str = "default";

/// The options name a reference resolves to: `default` in any provider (`default@file`)
/// is *the* default options, as in Traefik; other names stay as they are.
pub fn options_key(name: &str) -> &str {
    if name.is_empty()
        || name == DEFAULT
        || name
            .strip_prefix(DEFAULT)
            .is_some_and(|rest| rest.starts_with('@'))
    {
        DEFAULT
    } else {
        name
    }
}

/// Whether a certificate bound to `stores` is served: Traefik serves only the `default`
/// store, and an empty list means `default`.
pub fn in_default_store(stores: &[String]) -> bool {
    stores.is_empty() || stores.iter().any(|s| s == DEFAULT)
}

/// One change to the certificate store.
#[derive(Debug, Clone)]
pub enum CertChange {
    /// Adds or replaces the certificate with this id.
    Upsert(String, Certificate),
    /// Removes the certificate with this id.
    Remove(String),
}

/// Certificates by name, as one immutable snapshot.
pub(super) struct CertIndex {
    exact: HashMap<Box<str>, Arc<CertifiedKey>>,
    /// `*.example.com` certificates, keyed by `example.com`.
    wildcard: HashMap<Box<str>, Arc<CertifiedKey>>,
    pub(super) default: Arc<CertifiedKey>,
}

impl CertIndex {
    /// The certificate for `server_name`: an exact name first, then a one-label wildcard.
    pub(super) fn find(&self, server_name: &str) -> Option<&Arc<CertifiedKey>> {
        let name = server_name.strip_suffix('.').unwrap_or(server_name);
        // rustls lower-cases SNI, so this only allocates for names from elsewhere.
        let lowered;
        let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            lowered = name.to_ascii_lowercase();
            lowered.as_str()
        } else {
            name
        };
        if let Some(key) = self.exact.get(name) {
            return Some(key);
        }
        match name.split_once('.') {
            Some((label, parent)) if !label.is_empty() && !parent.is_empty() => {
                self.wildcard.get(parent)
            }
            _ => None,
        }
    }

    /// An index with only a generated default certificate.
    #[cfg(test)]
    pub(super) fn empty_for_tests() -> Self {
        let default = Certificate::generate_default().map(|c| c.certified_key().clone());
        Self::build(&BTreeMap::new(), default.unwrap_or_else(|e| panic!("{e}")))
    }

    fn build(entries: &BTreeMap<String, Arc<Certificate>>, default: Arc<CertifiedKey>) -> Self {
        let mut exact: HashMap<&str, &Arc<Certificate>> = HashMap::new();
        let mut wildcard: HashMap<&str, &Arc<Certificate>> = HashMap::new();
        // Entries iterate in id order and only a strictly later expiry replaces a holder,
        // so among equals the smallest id wins: the choice does not depend on history.
        for cert in entries.values() {
            for name in cert.names() {
                let (map, key) = match name.strip_prefix("*.") {
                    Some(parent) if !parent.is_empty() => (&mut wildcard, parent),
                    _ => (&mut exact, name.as_str()),
                };
                let holder = map.entry(key).or_insert(cert);
                if cert.not_after() > holder.not_after() {
                    *holder = cert;
                }
            }
        }
        let own = |map: HashMap<&str, &Arc<Certificate>>| {
            map.into_iter()
                .map(|(name, cert)| (Box::from(name), cert.certified_key().clone()))
                .collect()
        };
        Self {
            exact: own(exact),
            wildcard: own(wildcard),
            default,
        }
    }
}

/// What handshakes read, shared with the certificate resolvers inside each `ServerConfig`.
pub(super) struct Shared {
    pub(super) certs: ArcSwap<CertIndex>,
    /// TLS-ALPN-01 challenge certificates by domain.
    pub(super) challenges: ArcSwap<HashMap<Box<str>, Arc<CertifiedKey>>>,
}

/// A compiled options set.
struct OptionsEntry {
    source: TlsOptions,
    config: Result<Arc<ServerConfig>, Arc<OptionsError>>,
}

/// Compiled TLS options by name.
struct Configs {
    by_name: HashMap<Arc<str>, OptionsEntry>,
    acme: Arc<ServerConfig>,
}

/// State only writers touch, behind a mutex readers never take.
struct Writer {
    entries: BTreeMap<String, Arc<Certificate>>,
    configured_default: Option<Arc<CertifiedKey>>,
    /// Certificates parsed from inline PEM of `tls.certificates`, by (cert, key), so that a
    /// configuration update does not parse them again.
    inline: HashMap<(String, String), Certificate>,
}

/// Certificates by name and compiled TLS options, for every TLS entrypoint.
///
/// Readers (handshakes) only load `ArcSwap`s; writers serialise on a mutex, build new
/// maps and swap them in, so the next handshake sees a change without a restart.
pub struct TlsState {
    shared: Arc<Shared>,
    configs: ArcSwap<Configs>,
    generated_default: Arc<CertifiedKey>,
    writer: Mutex<Writer>,
}

impl std::fmt::Debug for TlsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsState").finish_non_exhaustive()
    }
}

/// Id prefix of certificates from `tls.certificates` (brackets cannot occur in bus keys).
const CONFIG_ID_PREFIX: &str = "tls.certificates[";

impl TlsState {
    /// An empty store whose default certificate is a freshly generated self-signed one,
    /// and the built-in `default` options.
    pub fn new() -> Result<Self, CertError> {
        let generated_default = Certificate::generate_default()?.certified_key().clone();
        let shared = Arc::new(Shared {
            certs: ArcSwap::from_pointee(CertIndex::build(
                &BTreeMap::new(),
                generated_default.clone(),
            )),
            challenges: ArcSwap::from_pointee(HashMap::new()),
        });
        let acme = Arc::new(options::acme_config(&shared).map_err(CertError::Config)?);
        let default_options = TlsOptions::default();
        let default_config = options::server_config(&default_options, &shared)
            .map(Arc::new)
            .map_err(Arc::new);
        let by_name = HashMap::from([(
            Arc::from(DEFAULT),
            OptionsEntry {
                source: default_options,
                config: default_config,
            },
        )]);
        Ok(Self {
            shared,
            configs: ArcSwap::from_pointee(Configs { by_name, acme }),
            generated_default,
            writer: Mutex::new(Writer {
                entries: BTreeMap::new(),
                configured_default: None,
                inline: HashMap::new(),
            }),
        })
    }

    /// Every certificate served by name (configuration, files and bus), by id.
    pub fn certificates(&self) -> Vec<(String, Arc<Certificate>)> {
        self.writer()
            .entries
            .iter()
            .map(|(id, cert)| (id.clone(), cert.clone()))
            .collect()
    }

    fn writer(&self) -> MutexGuard<'_, Writer> {
        // A panic while holding the lock leaves consistent maps behind (they are swapped whole).
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn publish(&self, writer: &Writer) {
        let default = writer
            .configured_default
            .clone()
            .unwrap_or_else(|| self.generated_default.clone());
        self.shared
            .certs
            .store(Arc::new(CertIndex::build(&writer.entries, default)));
    }

    // ---- reads -------------------------------------------------------------------------

    /// The certificate served for `server_name` (exact name, else `*.parent`), if any.
    #[cfg(test)]
    pub fn resolve(&self, server_name: &str) -> Option<Arc<CertifiedKey>> {
        self.shared.certs.load().find(server_name).cloned()
    }

    /// The certificate served when no name matches.
    #[cfg(test)]
    pub fn default_certificate(&self) -> Arc<CertifiedKey> {
        self.shared.certs.load().default.clone()
    }

    /// The TLS-ALPN-01 challenge certificate for `domain`, if one is pending.
    #[cfg(test)]
    pub fn challenge(&self, domain: &str) -> Option<Arc<CertifiedKey>> {
        self.shared
            .challenges
            .load()
            .get(domain.to_ascii_lowercase().as_str())
            .cloned()
    }

    /// The compiled configuration of the options `name` (see [`options_key`]); `None`
    /// when the options do not exist or do not compile (connections are then refused,
    /// as Traefik does for broken TLS options).
    pub fn server_config(&self, name: &str) -> Option<Arc<ServerConfig>> {
        match &self.configs.load().by_name.get(options_key(name))?.config {
            Ok(config) => Some(config.clone()),
            Err(_) => None,
        }
    }

    /// Why the options `name` cannot be used, for logs.
    pub fn options_problem(&self, name: &str) -> Option<String> {
        match self.configs.load().by_name.get(options_key(name)) {
            None => Some(format!("unknown TLS options: {name}")),
            Some(OptionsEntry { config: Err(e), .. }) => Some(format!("TLS options {name}: {e}")),
            Some(_) => None,
        }
    }

    /// The configuration answering TLS-ALPN-01 challenges.
    pub(super) fn acme_config(&self) -> Arc<ServerConfig> {
        self.configs.load().acme.clone()
    }

    pub(super) fn index(&self) -> arc_swap::Guard<Arc<CertIndex>> {
        self.shared.certs.load()
    }

    // ---- certificates ------------------------------------------------------------------

    /// Adds or replaces the certificate `id`; the next handshake serves it.
    pub fn upsert(&self, id: &str, cert: Certificate) {
        self.apply([CertChange::Upsert(id.to_owned(), cert)]);
    }

    /// Removes the certificate `id`; returns whether it existed.
    pub fn remove(&self, id: &str) -> bool {
        let existed = self.writer().entries.contains_key(id);
        if existed {
            self.apply([CertChange::Remove(id.to_owned())]);
        }
        existed
    }

    /// Applies several changes with a single rebuild of the name maps (use it when
    /// catching up on many certificates: each publication costs one pass over all names).
    pub fn apply(&self, changes: impl IntoIterator<Item = CertChange>) {
        let mut writer = self.writer();
        for change in changes {
            match change {
                CertChange::Upsert(id, cert) => {
                    writer.entries.insert(id, Arc::new(cert));
                }
                CertChange::Remove(id) => {
                    writer.entries.remove(&id);
                }
            }
        }
        self.publish(&writer);
    }

    /// Applies a certificate record from the bus stored under `kv_key`: served when it
    /// belongs to the default store, removed otherwise. Returns whether it is served.
    pub fn upsert_record(
        &self,
        kv_key: &str,
        record: &CertificateRecord,
        seal: &SealKey,
    ) -> Result<bool, CertError> {
        if !in_default_store(&record.stores) {
            self.remove(kv_key);
            return Ok(false);
        }
        self.upsert(kv_key, Certificate::from_record(record, kv_key, seal)?);
        Ok(true)
    }

    /// Sets the default certificate; `None` goes back to the generated one.
    #[cfg(test)]
    pub fn set_default(&self, cert: Option<Certificate>) {
        let mut writer = self.writer();
        writer.configured_default = cert.map(|c| c.certified_key().clone());
        self.publish(&writer);
    }

    /// The number of certificates in the store (the default excluded).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.writer().entries.len()
    }

    // ---- challenges --------------------------------------------------------------------

    /// Serves `key` to TLS-ALPN-01 handshakes (ALPN `acme-tls/1` only) for `domain`.
    pub fn upsert_challenge(&self, domain: &str, key: Arc<CertifiedKey>) {
        let _writer = self.writer();
        let mut map = HashMap::clone(&self.shared.challenges.load());
        map.insert(Box::from(domain.to_ascii_lowercase()), key);
        self.shared.challenges.store(Arc::new(map));
    }

    /// Stops answering TLS-ALPN-01 for `domain`; returns whether a challenge was pending.
    pub fn remove_challenge(&self, domain: &str) -> bool {
        let _writer = self.writer();
        let mut map = HashMap::clone(&self.shared.challenges.load());
        let existed = map.remove(domain.to_ascii_lowercase().as_str()).is_some();
        if existed {
            self.shared.challenges.store(Arc::new(map));
        }
        existed
    }

    /// Applies a TLS-ALPN-01 challenge from the bus stored under `kv_key`.
    pub fn upsert_challenge_record(
        &self,
        kv_key: &str,
        challenge: &TlsAlpn01Challenge,
        seal: &SealKey,
    ) -> Result<(), CertError> {
        self.upsert_challenge(
            &challenge.domain,
            cert::challenge_key(challenge, kv_key, seal)?,
        );
        Ok(())
    }

    // ---- options and configuration -----------------------------------------------------

    /// Compiles `tls.options` (names as merged: `name@provider`). Options whose definition
    /// did not change keep their compiled configuration (and session ticket keys).
    /// Returns the options that do not compile; connections that need them are refused.
    ///
    /// `default` defined by several providers is ignored in favour of the built-in
    /// default, as Traefik does.
    pub fn set_options(
        &self,
        options: &BTreeMap<String, TlsOptions>,
    ) -> Vec<(String, Arc<OptionsError>)> {
        let _writer = self.writer();
        let old = self.configs.load();
        let mut problems = Vec::new();
        let defaults: Vec<&String> = options
            .keys()
            .filter(|name| options_key(name) == DEFAULT)
            .collect();
        let builtin = TlsOptions::default();
        let default_source = match defaults.as_slice() {
            [] => &builtin,
            [one] => &options[*one],
            many => {
                let names = many
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                problems.push((
                    DEFAULT.to_owned(),
                    Arc::new(OptionsError::MultipleDefaults(names)),
                ));
                &builtin
            }
        };
        let mut by_name = HashMap::with_capacity(options.len() + 1);
        let sources = std::iter::once((DEFAULT, default_source)).chain(options.iter().filter_map(
            |(name, source)| (options_key(name) != DEFAULT).then_some((name.as_str(), source)),
        ));
        for (name, source) in sources {
            let config = match old.by_name.get(name) {
                Some(entry) if entry.source == *source => entry.config.clone(),
                _ => options::server_config(source, &self.shared)
                    .map(Arc::new)
                    .map_err(Arc::new),
            };
            if let Err(e) = &config {
                problems.push((name.to_owned(), e.clone()));
            }
            by_name.insert(
                Arc::from(name),
                OptionsEntry {
                    source: source.clone(),
                    config,
                },
            );
        }
        self.configs.store(Arc::new(Configs {
            by_name,
            acme: old.acme.clone(),
        }));
        problems
    }

    /// Applies the `tls` section of a merged dynamic configuration: `tls.certificates`
    /// (those of the default store), `tls.stores.default.defaultCertificate` and
    /// `tls.options`. Returns the problems (skipped certificates, broken options) for logs.
    pub fn apply_config(&self, tls: &TlsConfig) -> Vec<String> {
        let mut problems: Vec<String> = self
            .set_options(&tls.options)
            .into_iter()
            .map(|(name, e)| format!("tls.options.{name}: {e}"))
            .collect();
        let default_cert = tls
            .stores
            .get(DEFAULT)
            .and_then(|s| s.default_certificate.as_ref())
            .and_then(|c| {
                Certificate::from_file_or_content(&c.cert_file, &c.key_file)
                    .map_err(|e| {
                        problems.push(format!("tls.stores.default.defaultCertificate: {e}"))
                    })
                    .ok()
            });
        for name in tls.stores.keys().filter(|name| *name != DEFAULT) {
            problems.push(format!(
                "tls.stores.{name}: only the default store is used, as in Traefik"
            ));
        }
        let mut writer = self.writer();
        let mut inline = HashMap::new();
        let mut loaded = Vec::new();
        for (i, entry) in tls.certificates.iter().enumerate() {
            if !in_default_store(&entry.stores) {
                problems.push(format!(
                    "tls.certificates[{i}]: not served, it is only in stores {:?} (only the default store is used)",
                    entry.stores
                ));
                continue;
            }
            let is_inline =
                entry.cert_file.contains("-----BEGIN") && entry.key_file.contains("-----BEGIN");
            let cache_key = (entry.cert_file.clone(), entry.key_file.clone());
            let cached = if is_inline {
                writer.inline.get(&cache_key).cloned()
            } else {
                None
            };
            let cert = match cached {
                Some(cert) => cert,
                None => {
                    match Certificate::from_file_or_content(&entry.cert_file, &entry.key_file) {
                        Ok(cert) => cert,
                        Err(e) => {
                            problems.push(format!("tls.certificates[{i}]: {e}"));
                            continue;
                        }
                    }
                }
            };
            if is_inline {
                inline.insert(cache_key, cert.clone());
            }
            loaded.push((format!("{CONFIG_ID_PREFIX}{i}]"), cert));
        }
        writer.inline = inline;
        writer
            .entries
            .retain(|id, _| !id.starts_with(CONFIG_ID_PREFIX));
        for (id, cert) in loaded {
            writer.entries.insert(id, Arc::new(cert));
        }
        writer.configured_default = default_cert.map(|c| c.certified_key().clone());
        self.publish(&writer);
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::super::cert::testing::TestCa;
    use super::*;
    use switchyard_model::tls::{CertAndStores, Store};

    fn served(state: &TlsState, sni: &str) -> Option<Arc<CertifiedKey>> {
        state.resolve(sni)
    }

    fn same(a: &Arc<CertifiedKey>, b: &Certificate) -> bool {
        a.cert[0] == b.certified_key().cert[0]
    }

    #[test]
    fn exact_names_win_over_wildcards_and_unknown_names_get_none() {
        let ca = TestCa::new("ca");
        let state = TlsState::new().unwrap();
        let exact = ca.issue(&["a.example.com"]).certificate();
        let wildcard = ca.issue(&["*.example.com"]).certificate();
        let other = ca.issue(&["example.org", "10.0.0.7"]).certificate();
        state.apply([
            CertChange::Upsert("exact".into(), exact.clone()),
            CertChange::Upsert("wild".into(), wildcard.clone()),
            CertChange::Upsert("other".into(), other.clone()),
        ]);
        let cases: [(&str, &str, Option<&Certificate>); 10] = [
            ("exact", "a.example.com", Some(&exact)),
            ("exact, other case", "A.Example.COM", Some(&exact)),
            ("exact, trailing dot", "a.example.com.", Some(&exact)),
            ("wildcard", "b.example.com", Some(&wildcard)),
            ("wildcard covers one label only", "x.b.example.com", None),
            ("wildcard does not cover the apex", "example.com", None),
            ("other cert", "example.org", Some(&other)),
            ("ip san", "10.0.0.7", Some(&other)),
            ("unknown", "example.net", None),
            ("empty", "", None),
        ];
        for (case, sni, want) in cases {
            match (served(&state, sni), want) {
                (None, None) => {}
                (Some(got), Some(want)) => assert!(same(&got, want), "{case}: wrong certificate"),
                (got, want) => panic!("{case}: got {:?}, want {:?}", got.is_some(), want.is_some()),
            }
        }
    }

    #[test]
    fn upsert_and_remove_swap_the_maps() {
        let ca = TestCa::new("ca");
        let state = TlsState::new().unwrap();
        assert!(served(&state, "new.example.com").is_none());
        let first = ca.issue(&["new.example.com"]).certificate();
        state.upsert("k1", first.clone());
        assert!(same(&served(&state, "new.example.com").unwrap(), &first));
        let renewed = ca.issue(&["new.example.com"]).certificate();
        state.upsert("k1", renewed.clone());
        assert!(
            same(&served(&state, "new.example.com").unwrap(), &renewed),
            "replaced under the same id"
        );
        assert_eq!(state.len(), 1);
        assert!(state.remove("k1"));
        assert!(!state.remove("k1"));
        assert!(served(&state, "new.example.com").is_none());
    }

    #[test]
    fn the_later_expiry_wins_among_certificates_for_one_name() {
        let ca = TestCa::new("ca");
        let state = TlsState::new().unwrap();
        let older = ca
            .issue_until(&["a.example.com"], (2030, 1, 1))
            .certificate();
        let newer = ca
            .issue_until(&["a.example.com"], (2031, 1, 1))
            .certificate();
        // Whatever the insertion order and ids, the certificate expiring last is served.
        for (first, second) in [
            (("a", &older), ("b", &newer)),
            (("a", &newer), ("b", &older)),
        ] {
            state.apply([
                CertChange::Remove("a".into()),
                CertChange::Remove("b".into()),
            ]);
            state.upsert(first.0, first.1.clone());
            state.upsert(second.0, second.1.clone());
            assert!(same(&served(&state, "a.example.com").unwrap(), &newer));
        }
    }

    #[test]
    fn default_certificate_is_generated_then_configurable() {
        let ca = TestCa::new("ca");
        let state = TlsState::new().unwrap();
        let generated = state.default_certificate();
        let mine = ca.issue(&["default.example.com"]).certificate();
        state.set_default(Some(mine.clone()));
        assert!(same(&state.default_certificate(), &mine));
        state.set_default(None);
        assert_eq!(state.default_certificate().cert[0], generated.cert[0]);
    }

    #[test]
    fn records_outside_the_default_store_are_not_served() {
        let ca = TestCa::new("ca");
        let issued = ca.issue(&["a.example.com"]);
        let seal = SealKey::generate().unwrap();
        let record = |stores: Vec<String>| CertificateRecord {
            domains: vec!["a.example.com".into()],
            chain_pem: issued.chain_pem.clone(),
            key: seal
                .seal(issued.key_pem.as_bytes(), "a_example_com")
                .unwrap(),
            not_after: 0,
            issuer: String::new(),
            source: switchyard_bus::messages::CertificateSource::File {
                origin: "0@file".into(),
            },
            stores,
        };
        let state = TlsState::new().unwrap();
        assert!(
            state
                .upsert_record("a_example_com", &record(vec![]), &seal)
                .unwrap()
        );
        assert!(served(&state, "a.example.com").is_some());
        assert!(
            !state
                .upsert_record("a_example_com", &record(vec!["other".into()]), &seal)
                .unwrap()
        );
        assert!(
            served(&state, "a.example.com").is_none(),
            "moved out of the default store"
        );
        assert!(
            state
                .upsert_record(
                    "a_example_com",
                    &record(vec!["other".into(), "default".into()]),
                    &seal
                )
                .unwrap()
        );
        assert!(
            state
                .upsert_record("wrong_key", &record(vec![]), &seal)
                .is_err()
        );
    }

    #[test]
    fn apply_config_loads_certificates_default_and_options() {
        let ca = TestCa::new("ca");
        let a = ca.issue(&["a.example.com"]);
        let b = ca.issue(&["b.example.com"]);
        let d = ca.issue(&["default.example.com"]);
        let entry = |c: &super::super::cert::testing::Issued, stores: &[&str]| CertAndStores {
            cert_file: c.chain_pem.clone(),
            key_file: c.key_pem.clone(),
            stores: stores.iter().map(|s| (*s).to_owned()).collect(),
        };
        let mut tls = TlsConfig {
            certificates: vec![
                entry(&a, &[]),
                entry(&b, &["other"]),
                CertAndStores {
                    cert_file: "/nonexistent.pem".into(),
                    key_file: a.key_pem.clone(),
                    stores: vec![],
                },
            ],
            ..TlsConfig::default()
        };
        tls.stores.insert(
            "default".into(),
            Store {
                default_certificate: Some(switchyard_model::tls::Certificate {
                    cert_file: d.chain_pem.clone(),
                    key_file: d.key_pem.clone(),
                }),
                default_generated_cert: None,
            },
        );
        tls.options.insert(
            "strict@file".into(),
            TlsOptions {
                sni_strict: true,
                ..TlsOptions::default()
            },
        );
        tls.options.insert(
            "broken@file".into(),
            TlsOptions {
                cipher_suites: vec!["TLS_RSA_WITH_RC4_128_SHA".into()],
                ..TlsOptions::default()
            },
        );
        let state = TlsState::new().unwrap();
        state.upsert("from-bus", ca.issue(&["bus.example.com"]).certificate());
        let problems = state.apply_config(&tls);
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("tls.options.broken@file:")
                    && p.contains("TLS_RSA_WITH_RC4_128_SHA"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("tls.certificates[1]: not served"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("tls.certificates[2]: cannot read /nonexistent.pem"))
        );
        assert!(served(&state, "a.example.com").is_some());
        assert!(served(&state, "b.example.com").is_none());
        assert!(
            served(&state, "bus.example.com").is_some(),
            "bus certificates are kept"
        );
        assert_eq!(state.default_certificate().cert[0], d.der);
        assert!(state.server_config("strict@file").is_some());
        assert!(state.server_config("broken@file").is_none());
        assert!(state.server_config("missing@file").is_none());
        assert!(state.server_config("default@docker").is_some());

        // A second configuration without certificates removes them, and the default.
        let problems = state.apply_config(&TlsConfig::default());
        assert!(problems.is_empty(), "{problems:?}");
        assert!(served(&state, "a.example.com").is_none());
        assert!(served(&state, "bus.example.com").is_some());
        assert_ne!(state.default_certificate().cert[0], d.der);
        assert!(state.server_config("strict@file").is_none());
    }

    #[test]
    fn unchanged_options_keep_their_compiled_configuration() {
        let state = TlsState::new().unwrap();
        let mut options = BTreeMap::from([("a@file".to_owned(), TlsOptions::default())]);
        assert!(state.set_options(&options).is_empty());
        let before = state.server_config("a@file").unwrap();
        options.insert("b@file".into(), TlsOptions::default());
        state.set_options(&options);
        assert!(
            Arc::ptr_eq(&before, &state.server_config("a@file").unwrap()),
            "a unchanged: reused"
        );
        options.insert(
            "a@file".into(),
            TlsOptions {
                min_version: "VersionTLS13".into(),
                ..TlsOptions::default()
            },
        );
        state.set_options(&options);
        assert!(
            !Arc::ptr_eq(&before, &state.server_config("a@file").unwrap()),
            "a changed: rebuilt"
        );
    }

    #[test]
    fn default_options_defined_twice_fall_back_to_the_builtin() {
        let state = TlsState::new().unwrap();
        let strict = TlsOptions {
            sni_strict: true,
            ..TlsOptions::default()
        };
        let options = BTreeMap::from([
            ("default@file".to_owned(), strict.clone()),
            ("default@docker".to_owned(), strict),
        ]);
        let problems = state.set_options(&options);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0]
                .1
                .to_string()
                .contains("default@docker, default@file"),
            "{}",
            problems[0].1
        );
        assert!(state.server_config("default").is_some());
    }

    #[test]
    fn options_keys() {
        for (name, want) in [
            ("", "default"),
            ("default", "default"),
            ("default@file", "default"),
            ("defaults@file", "defaults@file"),
            ("x@file", "x@file"),
        ] {
            assert_eq!(options_key(name), want, "{name:?}");
        }
    }

    #[test]
    fn challenges_are_kept_apart_from_certificates() {
        let ca = TestCa::new("ca");
        let state = TlsState::new().unwrap();
        let key = ca
            .issue(&["acme.example.com"])
            .certificate()
            .certified_key()
            .clone();
        state.upsert_challenge("ACME.example.com", key);
        assert!(state.challenge("acme.example.com").is_some());
        assert!(served(&state, "acme.example.com").is_none());
        assert!(state.remove_challenge("acme.example.com"));
        assert!(state.challenge("acme.example.com").is_none());
    }
}
