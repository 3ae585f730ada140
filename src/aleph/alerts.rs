//! Alerts: saved searches that notify their owner of new results.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Listing, de_id};
use crate::error::Error;
use crate::transport::Transport;

/// A saved search of the caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Alert {
    /// The alert's id.
    #[serde(default, deserialize_with = "de_id")]
    pub id: String,
    /// The search text.
    #[serde(default)]
    pub query: String,
    /// The query as the server normalised it (older servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalized: Option<String>,
    /// When the owner was last notified of new results.
    #[serde(default, with = "crate::time::utc_option")]
    pub notified_at: Option<DateTime<Utc>>,
    /// When the alert was created.
    #[serde(default, with = "crate::time::utc_option")]
    pub created_at: Option<DateTime<Utc>>,
    /// When the alert was last changed.
    #[serde(default, with = "crate::time::utc_option")]
    pub updated_at: Option<DateTime<Utc>>,
    /// Whether the caller may change it.
    #[serde(default)]
    pub writeable: bool,
    /// Links, e.g. `self`.
    #[serde(default)]
    pub links: BTreeMap<String, crate::SignedUrl>,
}

/// The caller's alerts: `client.alerts()`.
#[derive(Debug, Clone)]
pub struct Alerts {
    transport: Transport,
}

impl Alerts {
    pub(crate) fn new(transport: Transport) -> Self {
        Alerts { transport }
    }

    /// `GET /alerts`: the caller's alerts, newest first.
    pub fn list(&self) -> ListAlerts {
        ListAlerts {
            list: Listing::new(self.transport.clone(), &["alerts"], false),
        }
    }

    /// `POST /alerts`: a new alert for a search text of 3 to 100 characters (checked before
    /// sending).
    ///
    /// ```no_run
    /// # async fn run(aleph: casefile::aleph::Client) -> casefile::Result<()> {
    /// let alert = aleph.alerts().create("Meridian Metals").await?;
    /// # Ok(()) }
    /// ```
    pub fn create(&self, query: impl Into<String>) -> CreateAlert {
        let query = query.into();
        // The server counts the raw string; blanks alone do not make a search.
        let chars = query.chars().count();
        let check = if chars <= 100 && query.trim().chars().count() >= 3 {
            Ok(())
        } else {
            Err(Error::invalid(
                "query",
                format!("an alert's query must have 3 to 100 characters, this one has {chars}"),
            ))
        };
        CreateAlert::new(
            self.transport
                .post(&["alerts"])
                .json(&serde_json::json!({ "query": query }))
                .checked(check),
        )
    }

    /// `GET /alerts/{id}`.
    pub fn get(&self, id: impl fmt::Display) -> GetAlert {
        GetAlert::new(self.transport.get(&["alerts", &id.to_string()]))
    }

    /// `DELETE /alerts/{id}` (answers `204`).
    pub fn delete(&self, id: impl fmt::Display) -> DeleteAlert {
        DeleteAlert::new(self.transport.delete(&["alerts", &id.to_string()]))
    }
}

/// Lists the caller's alerts; from [`Alerts::list`].
#[derive(Debug)]
#[must_use = "a listing does nothing until it is sent or streamed"]
pub struct ListAlerts {
    list: Listing,
}

impl ListAlerts {
    list_methods!(Alert);
}

operation! {
    /// Creates an alert; from [`Alerts::create`].
    CreateAlert => Alert
}

operation! {
    /// Fetches one alert; from [`Alerts::get`].
    GetAlert => Alert
}

operation! {
    /// Deletes an alert; from [`Alerts::delete`].
    DeleteAlert => ()
}
