//! Driving the whoami test backend from a test: who answered a request (its `Name:` line),
//! and what it answers on `/health`.

use std::net::SocketAddr;

use crate::client::{Reply, request};

/// Who answered a request: the whoami's name (its first line, `Name: <name>`), `?` for a
/// 200 without one, `status <code>` for any other status, `error <error>` for no response.
pub fn answered_by(reply: &anyhow::Result<Reply>) -> String {
    match reply {
        Ok(reply) if reply.status == 200 => reply
            .body
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("Name: "))
            .unwrap_or("?")
            .to_owned(),
        Ok(reply) => format!("status {}", reply.status),
        Err(error) => format!("error {error}"),
    }
}

/// Sets what the whoami on `addr` answers on `/health` (its `POST /health`).
pub async fn set_health(addr: SocketAddr, code: u16) -> anyhow::Result<()> {
    let reply = request(
        addr,
        "POST",
        "whoami",
        "/health",
        &[],
        &code.to_string(),
        false,
    )
    .await?;
    anyhow::ensure!(
        reply.status == 200,
        "setting the health of the whoami on {addr} to {code}: status {}",
        reply.status
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_names_who_answered() {
        let reply = |status: u16, body: &str| -> anyhow::Result<Reply> {
            Ok(Reply {
                status,
                headers: Vec::new(),
                body: body.to_owned(),
            })
        };
        let cases: [(&str, anyhow::Result<Reply>, &str); 4] = [
            ("whoami", reply(200, "Name: a\nHostname: x\n"), "a"),
            ("200 without a name", reply(200, "hello"), "?"),
            ("other status", reply(503, "Name: a"), "status 503"),
            (
                "no response",
                Err(anyhow::anyhow!("refused")),
                "error refused",
            ),
        ];
        for (case, input, expected) in cases {
            assert_eq!(answered_by(&input), expected, "case {case}");
        }
    }
}
