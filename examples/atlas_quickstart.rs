//! Atlas in twenty lines: stream the attachments, read one, and with `--write` retitle it.
//!
//! ```sh
//! export ATLAS_URL=https://atlas.example.org ATLAS_TOKEN=...
//! # or ATLAS_USERNAME=... ATLAS_API_KEY=... for HTTP Digest
//! cargo run --example atlas_quickstart -- --write
//! ```

use casefile::atlas::Client;
use futures::TryStreamExt;

#[tokio::main]
async fn main() -> casefile::Result<()> {
    let atlas = Client::from_env()?;
    // Every attachment, numbered page after numbered page (100 requests a minute at most).
    let mut attachments = atlas.attachments().list().stream();
    let mut first = None;
    while let Some(attachment) = attachments.try_next().await? {
        println!(
            "{} {}",
            attachment.attachment_type, attachment.attachment_name
        );
        first.get_or_insert(attachment);
    }
    let Some(id) = first.and_then(|a| a.attachment_id) else {
        return Ok(());
    };
    let details = atlas.attachments().get(id).await?;
    println!("first: {id} {}", details.attachment.attachment_name);
    if std::env::args().any(|a| a == "--write") {
        let title = format!(
            "{} (seen from casefile)",
            details.attachment.attachment_name
        );
        atlas.attachments().update(id).title(title).await?;
        println!("retitled {id}");
    }
    Ok(())
}
