//! The state enums read back from the database's text columns (sqlx's `try_from`): a closed
//! set refuses a name it does not know, an open one (what upstream may extend) reads it as
//! `Unknown`.

use super::{GateKind, JobState, Phase, StreamKind, Variant};

impl From<String> for Phase {
    fn from(name: String) -> Phase {
        Phase::parse(&name)
    }
}

impl From<String> for JobState {
    fn from(name: String) -> JobState {
        JobState::parse(&name)
    }
}

impl TryFrom<String> for GateKind {
    type Error = String;

    fn try_from(name: String) -> Result<GateKind, String> {
        GateKind::parse(&name).ok_or_else(|| format!("no gate kind {name:?}"))
    }
}

impl TryFrom<String> for Variant {
    type Error = String;

    fn try_from(name: String) -> Result<Variant, String> {
        Variant::parse(&name).ok_or_else(|| format!("no stream variant {name:?}"))
    }
}

impl TryFrom<String> for StreamKind {
    type Error = String;

    fn try_from(name: String) -> Result<StreamKind, String> {
        StreamKind::parse(&name).ok_or_else(|| format!("no stream kind {name:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_sets_read_unknown_names_as_unknown_and_closed_sets_refuse_them() {
        assert_eq!(Phase::from("Accepted".to_string()), Phase::Accepted);
        assert_eq!(Phase::from("Sideways".to_string()), Phase::Unknown);
        assert_eq!(JobState::from("Failed".to_string()), JobState::Failed);
        assert_eq!(JobState::from("failed".to_string()), JobState::Unknown);
        assert_eq!(
            GateKind::try_from("blocking".to_string()),
            Ok(GateKind::Blocking)
        );
        assert!(GateKind::try_from("Blocking".to_string()).is_err());
        assert_eq!(
            Variant::try_from("okd-scos".to_string()),
            Ok(Variant::OkdScos)
        );
        assert!(Variant::try_from("okd".to_string()).is_err());
        assert_eq!(
            StreamKind::try_from("nightly".to_string()),
            Ok(StreamKind::Nightly)
        );
        assert_eq!(
            StreamKind::try_from("weekly".to_string()),
            Err("no stream kind \"weekly\"".to_string())
        );
    }
}
