//! The OCI image config of a target (`containerimage.config`): platform,
//! runtime config, an empty layer list (the exporter fills in `diff_ids`).
//! The one time it holds is the build's SOURCE_DATE_EPOCH (`created`, and
//! the history entry's), so the same app and epoch give the same bytes on
//! every path, whether or not the exporter is told the epoch; keys in a
//! fixed order, and only keys that have values.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::super::model;
use super::super::{Code, Diag, Platform};

/// The image config JSON of `app` for `platform`.
#[allow(clippy::result_large_err)] // Diag is the compiler's one error type
pub fn image_config(app: &model::App, platform: &Platform, epoch: u64) -> Result<Vec<u8>, Diag> {
    let created = rfc3339(epoch);
    let img = &app.image;
    let ports: Vec<String> = img.ports.iter().map(|p| p.node.to_string()).collect();
    let config = ImageJson {
        created: &created,
        architecture: &platform.arch,
        os: &platform.os,
        variant: platform.variant.as_deref(),
        config: RunConfig {
            entrypoint: &img.entrypoint.node,
            cmd: img.cmd.as_ref().map(|c| c.node.as_slice()),
            env: img
                .env
                .iter()
                .map(|e| format!("{}={}", e.node.0, e.node.1))
                .collect(),
            exposed_ports: ports.iter().map(|p| (p.as_str(), Empty {})).collect(),
            volumes: img
                .volumes
                .iter()
                .map(|v| (v.node.as_str(), Empty {}))
                .collect(),
            working_dir: img.workdir.as_ref().map(|w| w.node.as_str()),
            user: img.user.node.to_string(),
            labels: img
                .labels
                .iter()
                .map(|l| (l.node.0.as_str(), l.node.1.as_str()))
                .collect(),
        },
        rootfs: RootFs {
            r#type: "layers",
            diff_ids: [],
        },
        // One history entry for the one layer. Without it the exporter
        // writes its own, whose `created_by` names where the layer came from
        // (the step, or "imported sha256:..." when it was restored from a
        // registry cache): the same image would then get a different config
        // digest depending on the state of the build cache. Its `created`
        // is the epoch too: an exporter told no epoch (buildx without
        // SOURCE_DATE_EPOCH) keeps the times it is given.
        history: [History {
            created: &created,
            created_by: format!("scratchc: app {} for {platform}", app.name.node),
            comment: "scratchc",
        }],
    };
    serde_json::to_vec(&config).map_err(|e| {
        Diag::new(
            Code::Internal,
            format!("could not write the image config: {e}"),
        )
        .help("this is a bug in scratchc; please report it")
    })
}

/// The config document; fields in the order they are written.
#[derive(Serialize)]
struct ImageJson<'a> {
    created: &'a str,
    architecture: &'a str,
    os: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    variant: Option<&'a str>,
    config: RunConfig<'a>,
    rootfs: RootFs,
    history: [History<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RunConfig<'a> {
    entrypoint: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    cmd: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    env: Vec<String>,
    #[serde(skip_serializing_if = "Object::is_empty")]
    exposed_ports: Object<'a, Empty>,
    #[serde(skip_serializing_if = "Object::is_empty")]
    volumes: Object<'a, Empty>,
    #[serde(skip_serializing_if = "Option::is_none")]
    working_dir: Option<&'a str>,
    user: String,
    #[serde(skip_serializing_if = "Object::is_empty")]
    labels: Object<'a, &'a str>,
}

#[derive(Serialize)]
struct RootFs {
    r#type: &'static str,
    diff_ids: [&'static str; 0],
}

#[derive(Serialize)]
struct History<'a> {
    created: &'a str,
    created_by: String,
    comment: &'static str,
}

/// Seconds since 1970 as RFC 3339 in UTC (`1970-01-01T00:00:00Z`), the
/// form Go's `time.Time` marshals to.
pub fn rfc3339(seconds: u64) -> String {
    let days = seconds / 86_400;
    let rest = seconds % 86_400;
    let (y, m, d) = civil_date(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01: counted in
/// 400-year eras of 146,097 days from 0000-03-01, so that leap days fall
/// at the end of each shifted year.
fn civil_date(days: u64) -> (u64, u64, u64) {
    // 719,468 days from 0000-03-01 to 1970-01-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months counted from March: 0 is March, 11 is February.
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

/// `{}`: the value of a port or a volume.
#[derive(Clone, Copy, Serialize)]
struct Empty {}

/// A JSON object from pairs, in order. A key given twice keeps its first
/// place and takes the later value, as a JSON map would.
struct Object<'a, V>(Vec<(&'a str, V)>);

impl<V> Object<'_, V> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a, V> FromIterator<(&'a str, V)> for Object<'a, V> {
    fn from_iter<I: IntoIterator<Item = (&'a str, V)>>(pairs: I) -> Self {
        let mut out: Vec<(&'a str, V)> = Vec::new();
        for (k, v) in pairs {
            match out.iter_mut().find(|(seen, _)| *seen == k) {
                Some(entry) => entry.1 = v,
                None => out.push((k, v)),
            }
        }
        Object(out)
    }
}

impl<V: Serialize> Serialize for Object<'_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn epochs_as_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_780_429), "2026-11-27T11:53:49Z");
        assert_eq!(rfc3339(4_107_542_399), "2100-02-28T23:59:59Z");
        assert_eq!(rfc3339(4_107_542_400), "2100-03-01T00:00:00Z");
    }

    /// Keys that come twice are written once, where they first came, with
    /// the last value; empty lists and maps are left out.
    #[test]
    fn objects_keep_the_first_place_and_the_last_value() {
        let pairs = [("b", 1), ("a", 2), ("b", 3)];
        let o: Object<'_, i32> = pairs.into_iter().collect();
        assert_eq!(serde_json::to_string(&o).unwrap(), r#"{"b":3,"a":2}"#);
        let none: Object<'_, Empty> = std::iter::empty().collect();
        assert!(none.is_empty());
    }
}
