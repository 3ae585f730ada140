//! Aleph in twenty lines: stream the collections you can read, read one, and with `--write`
//! create (or find) a collection and add a person to it.
//!
//! ```sh
//! export ALEPH_URL=https://aleph.occrp.org ALEPH_API_KEY=...
//! cargo run --example aleph_quickstart -- --write
//! ```

use casefile::aleph::{Client, Entity, NewCollection};
use futures::TryStreamExt;

#[tokio::main]
async fn main() -> casefile::Result<()> {
    let aleph = Client::from_env()?;
    // Every collection, offset page after offset page.
    let mut collections = aleph.collections().list().stream();
    let mut first = None;
    while let Some(collection) = collections.try_next().await? {
        println!("{} {}", collection.id, collection.label);
        first.get_or_insert(collection);
    }
    if let Some(first) = first {
        let collection = aleph.collections().get(&first.id).await?;
        println!("first: {} {}", collection.id, collection.label);
    }
    if std::env::args().any(|a| a == "--write") {
        let new = NewCollection::new("casefile quickstart").foreign_id("casefile-quickstart");
        let collection = aleph.collections().get_or_create(new).await?;
        let person = Entity::new("Person").add("name", "Jane Doe");
        let person = aleph.entities().create(&collection.id, person).await?;
        println!("created {:?} in {}", person.id, collection.id);
    }
    Ok(())
}
