//! Parsers for the typed values of statements: image references, ports,
//! users, paths, modes, `KEY=VALUE` pairs. Each returns a plain error
//! message; the caller attaches the code and the span.

use crate::compiler::model::{ImageRef, Port, Probe, ProbeAction, ProbeKind, Proto, Sharing, User};

/// Why a value was refused: the label for the span and the help line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bad {
    pub message: String,
    pub help: String,
}

fn bad(message: impl Into<String>, help: impl Into<String>) -> Bad {
    Bad {
        message: message.into(),
        help: help.into(),
    }
}

/// Parses and normalises an image reference ([`crate::image_ref::parse`]).
pub fn image_ref(s: &str) -> Result<ImageRef, Bad> {
    crate::image_ref::parse(s).map_err(|e| bad(e.message, e.help))
}

/// `sha256:` and 64 lowercase hex digits.
pub fn digest(s: &str) -> Result<String, Bad> {
    crate::image_ref::digest(s).map_err(|e| bad(e.message, e.help))
}

/// `N` or `N/tcp|udp|sctp`, N in 1..=65535.
pub fn port(s: &str) -> Result<Port, Bad> {
    let (num, proto) = match s.split_once('/') {
        Some((n, p)) => (n, Some(p)),
        None => (s, None),
    };
    let proto = match proto {
        None | Some("tcp") => Proto::Tcp,
        Some("udp") => Proto::Udp,
        Some("sctp") => Proto::Sctp,
        Some(p) => {
            return Err(bad(
                format!("unknown protocol `{p}`"),
                "the protocols are tcp (the default), udp and sctp, e.g. `8079/udp`",
            ));
        }
    };
    let number: u32 =
        if !num.is_empty() && num.chars().all(|c| c.is_ascii_digit()) && num.len() <= 6 {
            num.parse().unwrap_or(0)
        } else {
            return Err(bad(
                format!("`{num}` is not a port number"),
                "a port is a number from 1 to 65535",
            ));
        };
    match u16::try_from(number) {
        Ok(n) if n > 0 => Ok(Port { number: n, proto }),
        _ => Err(bad(
            format!("port {number} is out of range"),
            "a port is a number from 1 to 65535",
        )),
    }
}

/// `UID[:GID]`, numeric only.
pub fn user(s: &str) -> Result<User, Bad> {
    let (u, g) = match s.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (s, None),
    };
    let id = |x: &str| -> Result<u32, Bad> {
        if !x.is_empty() && x.chars().all(|c| c.is_ascii_digit()) {
            x.parse::<u32>().map_err(|_| {
                bad(
                    format!("id {x} is out of range"),
                    "ids go from 0 to 4294967295",
                )
            })
        } else {
            Err(bad(
                format!("`{x}` is not a numeric id"),
                "a scratch image has no /etc/passwd to look names up in: write numeric ids, e.g. `1000:1000`",
            ))
        }
    };
    let uid = id(u)?;
    let gid = match g {
        Some(g) => Some(id(g)?),
        None => None,
    };
    Ok(User { uid, gid })
}

/// An absolute path in an image.
pub fn abs_path(s: &str) -> Result<String, Bad> {
    if s.starts_with('/') {
        Ok(s.to_string())
    } else {
        Err(bad(
            format!("`{s}` is not an absolute path"),
            format!(
                "paths in the image start with `/`, e.g. `/{}`",
                s.trim_start_matches("./")
            ),
        ))
    }
}

/// A path in the build context: relative, no `..`; normalised to
/// `/`-separated components without `.` (`./cmd/x/` is `cmd/x`).
pub fn context_path(s: &str) -> Result<String, Bad> {
    let help =
        "paths in the build context are relative to it, e.g. `config/app.json`, and stay inside it";
    if s.starts_with('/') {
        return Err(bad(format!("`{s}` is absolute"), help));
    }
    let mut parts = Vec::new();
    for c in s.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err(bad(format!("`{s}` leaves the build context"), help)),
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return Err(bad(
            format!("`{s}` names the whole context, not a file"),
            help,
        ));
    }
    Ok(parts.join("/"))
}

/// An octal permission mode, e.g. `0644` or `755`.
pub fn mode(s: &str) -> Result<u32, Bad> {
    let help = "a mode is octal, at most 07777, e.g. `0644` or `0755`";
    if s.is_empty() || s.len() > 5 || !s.chars().all(|c| ('0'..='7').contains(&c)) {
        return Err(bad(format!("`{s}` is not an octal mode"), help));
    }
    match u32::from_str_radix(s, 8) {
        Ok(m) if m <= 0o7777 => Ok(m),
        _ => Err(bad(format!("`{s}` is out of range"), help)),
    }
}

/// `KEY=VALUE`, a non-empty key without `=`.
pub fn key_value(s: &str) -> Result<(String, String), Bad> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(bad(
            format!("`{s}` is not KEY=VALUE"),
            "write `KEY=VALUE`; quote the whole pair if the value holds spaces",
        )),
    }
}

/// `true` or `false`.
pub fn boolean(s: &str) -> Result<bool, Bad> {
    match s {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(bad(
            format!("`{s}` is not true or false"),
            "write `true`, `false`, or the key alone for true",
        )),
    }
}

/// The value of `passwd`: `true`/`false`, or the image user's name
/// (`None` for `true`: the default name). Names follow the portable rule
/// of useradd: `[a-z_][a-z0-9_-]*`, at most 32 characters.
pub fn passwd(s: &str) -> Result<Option<Option<String>>, Bad> {
    match s {
        "true" => return Ok(Some(None)),
        "false" => return Ok(None),
        _ => {}
    }
    let mut chars = s.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok =
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if first_ok && rest_ok && s.len() <= 32 {
        Ok(Some(Some(s.to_string())))
    } else {
        Err(bad(
            format!("`{s}` is not a user name"),
            "write `passwd` alone (the name `nonroot`), `passwd false`, or a name of lower-case \
             letters, digits, `_` and `-` that starts with a letter or `_` (at most 32)",
        ))
    }
}

/// A build argument name, `[A-Za-z_][A-Za-z0-9_]*`.
pub fn arg_name(s: &str) -> Result<String, Bad> {
    let mut chars = s.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(s.to_string())
    } else {
        Err(bad(
            format!("`{s}` is not a valid build argument name"),
            "names are letters, digits and `_`, not starting with a digit, e.g. `VERSION`",
        ))
    }
}

/// `shared`, `private` or `locked`.
pub fn sharing(s: &str) -> Result<Sharing, Bad> {
    match s {
        "shared" => Ok(Sharing::Shared),
        "private" => Ok(Sharing::Private),
        "locked" => Ok(Sharing::Locked),
        _ => Err(bad(
            format!("unknown sharing mode `{s}`"),
            "the modes are shared, private and locked",
        )),
    }
}

/// A replica count: a whole number a Deployment takes (an int32).
pub fn replicas(s: &str) -> Result<u32, Bad> {
    match s.parse::<u32>() {
        Ok(n) if s.chars().all(|c| c.is_ascii_digit()) && n <= i32::MAX as u32 => Ok(n),
        _ => Err(bad(
            format!("`{s}` is not a replica count"),
            "write a whole number from 0 to 2147483647, e.g. `replicas 3`",
        )),
    }
}

/// The resources a `requests`/`limits` entry may name.
pub const RESOURCES: &[&str] = &["cpu", "memory", "ephemeral-storage"];

/// `NAME=QUANTITY` of `requests` or `limits`: the name one of
/// [`RESOURCES`], the quantity one Kubernetes accepts. Returns the name
/// and the quantity's value (for comparing a request with its limit).
pub fn resource(s: &str) -> Result<(String, f64), Bad> {
    let (name, q) = key_value(s)?;
    if !RESOURCES.contains(&name.as_str()) {
        return Err(bad(
            format!("`{name}` is not a resource scratchc knows"),
            format!("the resources are: {}", RESOURCES.join(", ")),
        ));
    }
    Ok((name, quantity(&q)?))
}

/// A Kubernetes quantity without a sign: a decimal number (`1`, `0.5`,
/// `.5`), then a binary suffix (`Ki` … `Ei`), a decimal one (`n`, `u`, `m`,
/// `k`, `M` … `E`) or an exponent (`e3`, `E-2`). Its value, as a float:
/// close enough to compare a request with its limit.
pub fn quantity(s: &str) -> Result<f64, Bad> {
    let wrong = || {
        bad(
            format!("`{s}` is not a quantity"),
            "write a number and an optional suffix, e.g. `100m` or `0.5` (cpu), `64Mi` or `1G` (memory)",
        )
    };
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    let digits = num.chars().filter(char::is_ascii_digit).count();
    if digits == 0 || num.matches('.').count() > 1 {
        return Err(wrong());
    }
    let value: f64 = num.parse().map_err(|_| wrong())?;
    let scale = match suffix {
        "" => 1.0,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        e => {
            let exp = e.strip_prefix(['e', 'E']).ok_or_else(wrong)?;
            let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                return Err(wrong());
            }
            let n: i32 = exp.parse().map_err(|_| wrong())?;
            10f64.powi(n)
        }
    };
    Ok(value * scale)
}

/// A whole number of seconds or attempts for a probe option; `min` is the
/// smallest the API accepts.
fn probe_number(name: &str, v: &str, min: u32) -> Result<u32, Bad> {
    match v.parse::<u32>() {
        Ok(n) if v.chars().all(|c| c.is_ascii_digit()) && n >= min && n <= i32::MAX as u32 => Ok(n),
        _ => Err(bad(
            format!("`{name}={v}` is not a whole number from {min}"),
            "probe options take whole numbers: seconds for delay, period and timeout, attempts for failures",
        )),
    }
}

/// The args of a `probe` statement (at least three, the arity is checked
/// first). On error, the index of the arg at fault.
pub fn probe(args: &[String]) -> Result<Probe, (usize, Bad)> {
    let kind = match args.first().map(String::as_str) {
        Some("liveness") => ProbeKind::Liveness,
        Some("readiness") => ProbeKind::Readiness,
        Some("startup") => ProbeKind::Startup,
        other => {
            return Err((
                0,
                bad(
                    format!("`{}` is not a kind of probe", other.unwrap_or("")),
                    "the kinds are liveness, readiness and startup",
                ),
            ));
        }
    };
    let mut action = match args.get(1).map(String::as_str) {
        Some("http") => ProbeAction::Http { path: "/".into() },
        Some("tcp") => ProbeAction::Tcp,
        Some("grpc") => ProbeAction::Grpc { service: None },
        other => {
            return Err((
                1,
                bad(
                    format!("`{}` is not a way to probe", other.unwrap_or("")),
                    "write http (a GET of a path), tcp (a connection) or grpc (the gRPC health service)",
                ),
            ));
        }
    };
    let port = match args.get(2).map(|a| port(a)) {
        Some(Ok(Port {
            number,
            proto: Proto::Tcp,
        })) => number,
        Some(Ok(p)) => {
            return Err((
                2,
                bad(
                    format!("a probe cannot use {p}"),
                    "probes connect over TCP: name a TCP port of the app, e.g. `8080`",
                ),
            ));
        }
        Some(Err(b)) => return Err((2, b)),
        None => {
            return Err((
                2,
                bad("a probe needs a port", "write the port after the way"),
            ));
        }
    };
    let mut probe = Probe {
        kind,
        action: ProbeAction::Tcp,
        port,
        delay: None,
        period: None,
        timeout: None,
        failures: None,
    };
    let mut path_seen = false;
    for (i, a) in args.iter().enumerate().skip(3) {
        let at = |b: Bad| (i, b);
        if a.starts_with('/') {
            match &mut action {
                ProbeAction::Http { path } if !path_seen => {
                    *path = a.clone();
                    path_seen = true;
                }
                ProbeAction::Http { .. } => {
                    return Err(at(bad("a probe has one path", "keep one path")));
                }
                _ => {
                    return Err(at(bad(
                        format!("`{a}`: only an http probe takes a path"),
                        "drop the path, or write `http` to probe with a GET of it",
                    )));
                }
            }
            continue;
        }
        let Some((k, v)) = a.split_once('=') else {
            return Err(at(bad(
                format!("`{a}` is not a probe option"),
                "an http path starts with `/`; the options are delay=S, period=S, timeout=S, failures=N and (grpc) service=NAME",
            )));
        };
        match k {
            "delay" => probe.delay = Some(probe_number(k, v, 0).map_err(at)?),
            "period" => probe.period = Some(probe_number(k, v, 1).map_err(at)?),
            "timeout" => probe.timeout = Some(probe_number(k, v, 1).map_err(at)?),
            "failures" => probe.failures = Some(probe_number(k, v, 1).map_err(at)?),
            "service" => match &mut action {
                ProbeAction::Grpc { service } if !v.is_empty() => *service = Some(v.to_string()),
                _ => {
                    return Err(at(bad(
                        format!("`{a}`: only a grpc probe names a service"),
                        "drop it, or write `grpc` to use the gRPC health service",
                    )));
                }
            },
            _ => {
                return Err(at(bad(
                    format!("`{k}` is not a probe option"),
                    "the options are delay=S, period=S, timeout=S, failures=N and (grpc) service=NAME",
                )));
            }
        }
    }
    probe.action = action;
    Ok(probe)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn quantities_as_kubernetes_reads_them() {
        for (q, v) in [
            ("1", 1.0),
            ("100m", 0.1),
            (".5", 0.5),
            ("2.", 2.0),
            ("64Mi", 64.0 * 1024.0 * 1024.0),
            ("1G", 1e9),
            ("1e3", 1e3),
            ("5E-1", 0.5),
            ("3E", 3e18),
            ("128974848", 128974848.0),
        ] {
            assert_eq!(quantity(q).unwrap(), v, "{q}");
        }
        for q in [
            "", "m", "1.2.3", "-1", "+1", "1mi", "1 Mi", "1e", "1e+", "0x10", "abc", "1Kb",
        ] {
            assert!(quantity(q).is_err(), "{q} accepted");
        }
        assert_eq!(resource("cpu=250m").unwrap(), ("cpu".into(), 0.25));
        assert!(resource("gpu=1").is_err());
        assert!(resource("memory").is_err());
    }

    #[test]
    fn probes() {
        let a = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        let p = probe(&a("readiness http 8080 /healthz period=5 failures=3")).unwrap();
        assert_eq!(p.kind, ProbeKind::Readiness);
        assert_eq!(
            p.action,
            ProbeAction::Http {
                path: "/healthz".into()
            }
        );
        assert_eq!(
            (p.port, p.period, p.failures, p.delay),
            (8080, Some(5), Some(3), None)
        );
        let p = probe(&a("liveness http 8080")).unwrap();
        assert_eq!(p.action, ProbeAction::Http { path: "/".into() });
        let p = probe(&a("startup grpc 9090 service=api delay=0")).unwrap();
        assert_eq!(
            p.action,
            ProbeAction::Grpc {
                service: Some("api".into())
            }
        );
        assert_eq!(p.delay, Some(0));
        assert_eq!(probe(&a("alive tcp 80")).unwrap_err().0, 0);
        assert_eq!(probe(&a("liveness exec 80")).unwrap_err().0, 1);
        assert_eq!(probe(&a("liveness tcp 8079/udp")).unwrap_err().0, 2);
        assert_eq!(probe(&a("liveness tcp 0")).unwrap_err().0, 2);
        assert_eq!(probe(&a("liveness tcp 80 /x")).unwrap_err().0, 3);
        assert_eq!(probe(&a("liveness http 80 /x /y")).unwrap_err().0, 4);
        assert_eq!(probe(&a("liveness http 80 period=0")).unwrap_err().0, 3);
        assert_eq!(probe(&a("liveness http 80 service=x")).unwrap_err().0, 3);
        assert_eq!(probe(&a("liveness http 80 every=3")).unwrap_err().0, 3);
        assert!(replicas("3").is_ok());
        assert!(replicas("-1").is_err());
        assert!(replicas("+3").is_err());
        assert!(replicas("2147483648").is_err());
    }

    #[test]
    fn image_refs_normalise() {
        let r = image_ref("golang:1.24").unwrap();
        assert_eq!(r.to_string(), "docker.io/library/golang:1.24");
        let r = image_ref("localhost:5000/a/b").unwrap();
        assert_eq!(r.to_string(), "localhost:5000/a/b:latest");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = image_ref(&format!("ghcr.io/x/y@{d}")).unwrap();
        assert_eq!(r.to_string(), format!("ghcr.io/x/y@{d}"));
        assert!(image_ref("Golang").is_err());
        assert!(image_ref("golang@sha256:abc").is_err());
        assert!(image_ref("golang:").is_err());
    }

    #[test]
    fn ports_users_paths() {
        assert_eq!(port("8079/udp").unwrap().to_string(), "8079/udp");
        assert!(port("0").is_err());
        assert!(port("65536").is_err());
        assert!(port("80/http").is_err());
        assert_eq!(
            user("1000:1000").unwrap(),
            User {
                uid: 1000,
                gid: Some(1000)
            }
        );
        assert!(user("nobody").is_err());
        assert!(user("4294967296").is_err());
        assert_eq!(context_path("./cmd/x/").unwrap(), "cmd/x");
        assert!(context_path("../x").is_err());
        assert_eq!(mode("0644").unwrap(), 0o644);
        assert!(mode("0999").is_err());
    }
}
