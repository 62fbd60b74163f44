//! discovery-file end to end: a route written to a watched folder is served by a proxy;
//! an edit moves it; a broken file leaves its last good state in force.

use std::time::Duration;

use switchyard_integration_tests::client::get;
use switchyard_integration_tests::process::{Process, start_proxy, start_whoami};
use switchyard_integration_tests::{eventually, start_nats};

fn route(host: &str, url: &str) -> String {
    format!(
        "http:\n  routers:\n    demo:\n      rule: \"Host(`{host}`)\"\n      service: demo\n  services:\n    demo:\n      loadBalancer:\n        servers:\n          - url: \"{url}\"\n"
    )
}

async fn status(addr: std::net::SocketAddr, host: &str) -> u16 {
    get(addr, host, "/").await.map(|r| r.status).unwrap_or(0)
}

#[tokio::test]
async fn files_in_a_watched_folder_are_served_and_follow_edits() -> anyhow::Result<()> {
    let nats = start_nats().await?;
    let backend = start_whoami("files")?;
    let dir = std::env::temp_dir().join(format!("switchyard-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("demo.yml"), route("one.test", &backend.url()))?;
    let _discovery = Process::start(
        "discovery-file",
        "switchyard-discovery-file",
        &[
            "--directory".into(),
            dir.display().to_string(),
            "--nats-url".into(),
            nats.url.clone(),
            "--name".into(),
            "files".into(),
        ],
        &[("RUST_LOG", "info".into())],
    )?;
    let proxy = start_proxy("p1", &nats.url, &[])?;
    eventually(Duration::from_secs(15), "the file's route", || async {
        status(proxy.web, "one.test").await == 200
    })
    .await?;

    // An edit moves the route.
    std::fs::write(dir.join("demo.yml"), route("two.test", &backend.url()))?;
    eventually(Duration::from_secs(15), "the edited route", || async {
        status(proxy.web, "two.test").await == 200
    })
    .await?;
    assert_eq!(status(proxy.web, "one.test").await, 404);

    // A file that no longer parses: its last good content stays served.
    std::fs::write(dir.join("demo.yml"), "http:\n  routers: [unclosed\n")?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        status(proxy.web, "two.test").await,
        200,
        "last good configuration kept"
    );

    // Another file adds a route next to it.
    std::fs::write(
        dir.join("more.toml"),
        "[http.routers.more]\nrule = \"Host(`more.test`)\"\nservice = \"demo\"\n",
    )?;
    eventually(Duration::from_secs(15), "the TOML file's route", || async {
        status(proxy.web, "more.test").await == 200
    })
    .await?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
