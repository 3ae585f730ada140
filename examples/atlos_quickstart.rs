//! Atlos in twenty lines: stream a project's incidents, read one piece of source material, and
//! with `--write` comment on the first incident.
//!
//! ```sh
//! export ATLOS_URL=https://platform.atlos.org ATLOS_API_TOKEN=...
//! cargo run --example atlos_quickstart -- --write
//! ```

use casefile::atlos::Client;
use futures::TryStreamExt;

#[tokio::main]
async fn main() -> casefile::Result<()> {
    let atlos = Client::from_env()?;
    // Every incident, one cursor page of 100 after another.
    let mut incidents = atlos.incidents().list().stream();
    let mut first = None;
    while let Some(incident) = incidents.try_next().await? {
        println!("{} {}", incident.slug, incident.description);
        first.get_or_insert(incident);
    }
    let Some(incident) = first else { return Ok(()) };
    // The first incident's first piece of source material, fetched on its own.
    if let Some(media) = incident.source_material.first() {
        let media = atlos.source_material().get(media.id).await?;
        println!("source material {}: {:?}", media.id, media.source_url);
    }
    if std::env::args().any(|a| a == "--write") {
        let message = "Seen from casefile.";
        atlos.incidents().comment(&incident.slug, message).await?;
        println!("commented on {}", incident.slug);
    }
    Ok(())
}
