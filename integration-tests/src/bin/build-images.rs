//! Builds the project's container images locally: `build-images nats whoami pebble`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    for name in std::env::args().skip(1) {
        match name.as_str() {
            "nats" => {
                let _image = switchyard_integration_tests::nats_image().await?;
                let (repo, tag) = switchyard_integration_tests::NATS_IMAGE;
                println!("built {repo}:{tag}");
            }
            "whoami" => {
                let _image = switchyard_integration_tests::whoami_image().await?;
                let (repo, tag) = switchyard_integration_tests::WHOAMI_IMAGE;
                println!("built {repo}:{tag}");
            }
            "pebble" => {
                let _image = switchyard_integration_tests::pebble::pebble_image().await?;
                let (repo, tag) = switchyard_integration_tests::pebble::PEBBLE_IMAGE;
                println!("built {repo}:{tag}");
            }
            other => anyhow::bail!("unknown image {other:?}; known: nats, whoami, pebble"),
        }
    }
    Ok(())
}
