//! Just enough DER to read what the store needs from a leaf certificate: its subject
//! common name, its DNS and IP subject alternative names, and its `notAfter`.
//!
//! Every read is bounds-checked, so a malformed certificate is an error, never a panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What the store reads from a leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeafInfo {
    /// The last `CN` of the subject (Go's `Subject.CommonName`), if any.
    pub common_name: Option<String>,
    /// `dNSName` entries of the subject alternative names, as written.
    pub dns_names: Vec<String>,
    /// `iPAddress` entries of the subject alternative names.
    pub ips: Vec<IpAddr>,
    /// End of validity, Unix seconds.
    pub not_after: i64,
}

/// Why a certificate could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed certificate: {0}")]
pub struct DerError(&'static str);

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const INTEGER: u8 = 0x02;
const BOOLEAN: u8 = 0x01;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const VERSION: u8 = 0xA0;
const ISSUER_UID: u8 = 0x81;
const SUBJECT_UID: u8 = 0x82;
const EXTENSIONS: u8 = 0xA3;
const SAN_DNS: u8 = 0x82;
const SAN_IP: u8 = 0x87;

/// 2.5.4.3
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
/// 2.5.29.17
const OID_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1D, 0x11];

struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn peek_tag(&self) -> Option<u8> {
        self.data.first().copied()
    }

    fn read_any(&mut self) -> Result<(u8, &'a [u8]), DerError> {
        let (&tag, rest) = self.data.split_first().ok_or(DerError("truncated"))?;
        // Certificates only use low tag numbers; a multi-byte tag means garbage.
        if tag & 0x1F == 0x1F {
            return Err(DerError("unsupported multi-byte tag"));
        }
        let (&first, rest) = rest.split_first().ok_or(DerError("truncated length"))?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let count = usize::from(first & 0x7F);
            if count == 0 || count > 4 {
                return Err(DerError("unsupported length encoding"));
            }
            let bytes = rest.get(..count).ok_or(DerError("truncated length"))?;
            let len = bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, &rest[count..])
        };
        if rest.len() < len {
            return Err(DerError("value runs past its container"));
        }
        let (value, rest) = rest.split_at(len);
        self.data = rest;
        Ok((tag, value))
    }

    fn read(&mut self, tag: u8) -> Result<&'a [u8], DerError> {
        match self.read_any()? {
            (t, value) if t == tag => Ok(value),
            _ => Err(DerError("unexpected element")),
        }
    }

    fn read_optional(&mut self, tag: u8) -> Result<Option<&'a [u8]>, DerError> {
        if self.peek_tag() == Some(tag) {
            self.read(tag).map(Some)
        } else {
            Ok(None)
        }
    }
}

/// Reads the names and expiry of a DER certificate.
pub fn parse_leaf(der: &[u8]) -> Result<LeafInfo, DerError> {
    let certificate = Reader::new(der).read(SEQUENCE)?;
    let mut tbs = Reader::new(Reader::new(certificate).read(SEQUENCE)?);
    tbs.read_optional(VERSION)?;
    tbs.read(INTEGER)?;
    tbs.read(SEQUENCE)?; // signature algorithm
    tbs.read(SEQUENCE)?; // issuer
    let mut validity = Reader::new(tbs.read(SEQUENCE)?);
    validity.read_any()?; // notBefore
    let (tag, not_after) = validity.read_any()?;
    let not_after = parse_time(tag, not_after)?;
    let common_name = common_name(tbs.read(SEQUENCE)?)?;
    tbs.read(SEQUENCE)?; // subjectPublicKeyInfo
    tbs.read_optional(ISSUER_UID)?;
    tbs.read_optional(SUBJECT_UID)?;
    let mut info = LeafInfo {
        common_name,
        not_after,
        ..LeafInfo::default()
    };
    if let Some(extensions) = tbs.read_optional(EXTENSIONS)? {
        let mut extensions = Reader::new(Reader::new(extensions).read(SEQUENCE)?);
        while !extensions.is_empty() {
            let mut extension = Reader::new(extensions.read(SEQUENCE)?);
            let oid = extension.read(OID)?;
            extension.read_optional(BOOLEAN)?;
            let value = extension.read(OCTET_STRING)?;
            if oid == OID_SUBJECT_ALT_NAME {
                read_alt_names(value, &mut info)?;
            }
        }
    }
    Ok(info)
}

fn read_alt_names(value: &[u8], info: &mut LeafInfo) -> Result<(), DerError> {
    let mut names = Reader::new(Reader::new(value).read(SEQUENCE)?);
    while !names.is_empty() {
        match names.read_any()? {
            (SAN_DNS, name) => {
                let name =
                    std::str::from_utf8(name).map_err(|_| DerError("dNSName is not text"))?;
                info.dns_names.push(name.to_owned());
            }
            (SAN_IP, ip) => {
                if let Ok(v4) = <[u8; 4]>::try_from(ip) {
                    info.ips.push(IpAddr::V4(Ipv4Addr::from(v4)));
                } else if let Ok(v6) = <[u8; 16]>::try_from(ip) {
                    info.ips.push(IpAddr::V6(Ipv6Addr::from(v6)));
                } else {
                    return Err(DerError("iPAddress of the wrong length"));
                }
            }
            _ => {} // email, URI, directory names: not names a TLS client asks for
        }
    }
    Ok(())
}

fn common_name(name: &[u8]) -> Result<Option<String>, DerError> {
    let mut found = None;
    let mut rdns = Reader::new(name);
    while !rdns.is_empty() {
        let mut attributes = Reader::new(rdns.read(SET)?);
        while !attributes.is_empty() {
            let mut attribute = Reader::new(attributes.read(SEQUENCE)?);
            let oid = attribute.read(OID)?;
            let (tag, value) = attribute.read_any()?;
            if oid == OID_COMMON_NAME {
                // Go keeps the last CN it sees; so do we.
                found = directory_string(tag, value);
            }
        }
    }
    Ok(found)
}

fn directory_string(tag: u8, value: &[u8]) -> Option<String> {
    match tag {
        // UTF8String, PrintableString, IA5String, TeletexString (treated as Latin-1)
        0x0C | 0x13 | 0x16 => std::str::from_utf8(value).ok().map(str::to_owned),
        0x14 => Some(value.iter().map(|b| char::from(*b)).collect()),
        // BMPString: UTF-16BE
        0x1E => {
            let units: Vec<u16> = value
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

/// Parses `UTCTime` (`YYMMDDHHMMSSZ`) or `GeneralizedTime` (`YYYYMMDDHHMMSSZ`) into Unix seconds.
fn parse_time(tag: u8, value: &[u8]) -> Result<i64, DerError> {
    let text = std::str::from_utf8(value).map_err(|_| DerError("time is not text"))?;
    let digits = text
        .strip_suffix('Z')
        .ok_or(DerError("time is not in UTC"))?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DerError("time has non-digits"));
    }
    let number = |range: std::ops::Range<usize>| -> Result<i64, DerError> {
        digits
            .get(range)
            .and_then(|s| s.parse().ok())
            .ok_or(DerError("time is too short"))
    };
    let (year, rest) = match (tag, digits.len()) {
        (UTC_TIME, 12) => {
            let yy = number(0..2)?;
            // RFC 5280: two-digit years 50..99 are 19xx, 00..49 are 20xx.
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, 2)
        }
        (GENERALIZED_TIME, 14) => (number(0..4)?, 4),
        (UTC_TIME | GENERALIZED_TIME, _) => return Err(DerError("time has the wrong length")),
        _ => return Err(DerError("unexpected time type")),
    };
    let month = number(rest..rest + 2)?;
    let day = number(rest + 2..rest + 4)?;
    let hour = number(rest + 4..rest + 6)?;
    let minute = number(rest + 6..rest + 8)?;
    let second = number(rest + 8..rest + 10)?;
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(DerError("time out of range"));
    }
    Ok(days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generated(names: &[&str], cn: Option<&str>) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::new(
            names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>(),
        )
        .unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        if let Some(cn) = cn {
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, cn);
        }
        params.not_after = rcgen::date_time_ymd(2031, 7, 9);
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn reads_names_and_expiry_of_generated_certificates() {
        struct Case {
            case: &'static str,
            names: &'static [&'static str],
            cn: Option<&'static str>,
            dns: &'static [&'static str],
            ips: &'static [&'static str],
        }
        let cases = [
            Case {
                case: "dns and cn",
                names: &["a.example.com", "*.b.example.com"],
                cn: Some("a.example.com"),
                dns: &["a.example.com", "*.b.example.com"],
                ips: &[],
            },
            Case {
                case: "ip addresses",
                names: &["10.1.2.3", "::1", "c.example.com"],
                cn: None,
                dns: &["c.example.com"],
                ips: &["10.1.2.3", "::1"],
            },
            Case {
                case: "cn only",
                names: &[],
                cn: Some("TRAEFIK DEFAULT CERT"),
                dns: &[],
                ips: &[],
            },
        ];
        for c in cases {
            let info =
                parse_leaf(&generated(c.names, c.cn)).unwrap_or_else(|e| panic!("{}: {e}", c.case));
            assert_eq!(info.common_name.as_deref(), c.cn, "{}", c.case);
            assert_eq!(info.dns_names, c.dns, "{}", c.case);
            let ips: Vec<IpAddr> = c.ips.iter().map(|s| s.parse().unwrap()).collect();
            assert_eq!(info.ips, ips, "{}", c.case);
            // 2031-07-09T00:00:00Z
            assert_eq!(info.not_after, 1_941_321_600, "{}", c.case);
        }
    }

    #[test]
    fn times() {
        let cases: [(&str, u8, &str, Result<i64, ()>); 8] = [
            ("epoch utc", UTC_TIME, "700101000000Z", Ok(0)),
            ("1999 utc", UTC_TIME, "991231235959Z", Ok(946_684_799)),
            ("2049 utc", UTC_TIME, "490101000000Z", Ok(2_493_072_000)),
            (
                "generalized leap day",
                GENERALIZED_TIME,
                "20240229120000Z",
                Ok(1_709_208_000),
            ),
            (
                "far future",
                GENERALIZED_TIME,
                "40960101000000Z",
                Ok(67_090_118_400),
            ),
            ("no zulu", UTC_TIME, "700101000000", Err(())),
            ("bad month", GENERALIZED_TIME, "20241301000000Z", Err(())),
            ("short", UTC_TIME, "7001010000Z", Err(())),
        ];
        for (case, tag, text, want) in cases {
            assert_eq!(
                parse_time(tag, text.as_bytes()).map_err(|_| ()),
                want,
                "{case}"
            );
        }
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let der = generated(&["a.example.com", "10.0.0.1"], Some("a"));
        for len in 0..der.len() {
            assert!(parse_leaf(&der[..len]).is_err(), "truncated to {len}");
        }
        // Flip every byte in turn: any outcome but a panic is fine.
        for i in 0..der.len() {
            let mut bad = der.clone();
            bad[i] ^= 0xFF;
            let _ = parse_leaf(&bad);
        }
        for garbage in [
            &[][..],
            &[0x30],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x1F, 0x00],
            &[0x30, 0x80],
        ] {
            assert!(parse_leaf(garbage).is_err(), "{garbage:?}");
        }
    }
}
