//! A server-sent-event client for the live-update tests: reads `event`/`id`/`data`
//! messages off a real HTTP response.

use std::time::{Duration, Instant};

/// A server-sent-event client; yields `(event, id, data)` messages.
pub struct Follower {
    response: reqwest::Response,
    buffer: String,
}

impl From<reqwest::Response> for Follower {
    fn from(response: reqwest::Response) -> Follower {
        Follower {
            response,
            buffer: String::new(),
        }
    }
}

impl Follower {
    /// Opens `{url}/api/v1/live`.
    pub async fn open(url: &str, query: &str) -> Follower {
        let response = reqwest::get(format!("{url}/api/v1/live{query}"))
            .await
            .expect("live stream");
        assert_eq!(response.status(), 200);
        assert!(response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream")));
        Follower {
            response,
            buffer: String::new(),
        }
    }

    /// The next message, or `None` when none came within `within` or the stream ended.
    pub async fn next(&mut self, within: Duration) -> Option<(String, Option<i64>, String)> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut event, mut id, mut data) = ("message".to_string(), None, String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().parse().ok();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if data.is_empty() && event == "message" {
                    continue; // a heartbeat comment
                }
                return Some((event, id, data));
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .ok()?
                .expect("stream reads")?;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The ids of the `change` messages heard within `within`.
    pub async fn changes(&mut self, within: Duration) -> Vec<i64> {
        let deadline = Instant::now() + within;
        let mut ids = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.next(left).await {
                Some((event, Some(id), _)) if event == "change" => ids.push(id),
                Some(_) => {}
                None => break,
            }
        }
        ids
    }
}
