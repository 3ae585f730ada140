//! Two macros every platform module uses, so that enums and operations look the same everywhere.
//! They are in scope in every module declared after this one in `lib.rs`.
#![allow(unused_macros)] // a build with no platform feature uses neither

/// A string enum the server may extend: known values as variants, anything else kept in
/// `Other(String)` so a new value never breaks decoding. Generates `as_str`, `Display`,
/// `FromStr` (infallible), `Serialize` and `Deserialize`.
///
/// ```text
/// string_enum! {
///     /// The status of an incident.
///     pub enum Status {
///         /// Not started.
///         ToDo = "To Do",
///         /// Done.
///         Completed = "Completed",
///     }
/// }
/// ```
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of casefile does not know, kept as the server sent it.
            Other(String),
        }

        impl $name {
            /// The value as the server spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $text, )+
                    $name::Other(s) => s.as_str(),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;

            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                Ok(match s {
                    $( $text => $name::$variant, )+
                    other => $name::Other(other.to_owned()),
                })
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s.parse() {
                    Ok(v) => v,
                    Err(never) => match never {},
                }
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                Ok($name::from(s.as_ref()))
            }
        }
    };
}

/// The handle accessors of a platform client (a struct with a `transport` field): each
/// `fn name(&self) -> Handle` makes the handle from a clone of the client's transport.
///
/// ```text
/// handles! {
///     /// Incidents: list, create, comment, update an attribute.
///     incidents => Incidents,
/// }
/// ```
macro_rules! handles {
    ($( $(#[$meta:meta])* $name:ident => $handle:ident ),+ $(,)?) => {
        $(
            $(#[$meta])*
            pub fn $name(&self) -> $handle {
                $handle::new(self.transport.clone())
            }
        )+
    };
}

/// An operation builder that sends one request prepared by its handle (which carries the
/// argument refused while preparing it, if any: see `RequestBuilder::checked`) and decodes the
/// answer as the output type; `.await` sends it. An empty answer (`204`, `202`) decodes as `()`.
///
/// ```text
/// operation! {
///     /// Fetches one collection; from [`Collections::get`].
///     GetCollection => Collection
/// }
/// ```
macro_rules! operation {
    ($(#[$meta:meta])* $name:ident => $output:ty) => {
        $(#[$meta])*
        #[derive(Debug)]
        #[must_use = "an operation does nothing until it is sent or awaited"]
        pub struct $name {
            request: $crate::transport::RequestBuilder,
        }

        impl $name {
            pub(crate) fn new(request: $crate::transport::RequestBuilder) -> Self {
                $name { request }
            }

            /// Sends the request.
            pub async fn send(self) -> $crate::Result<$output> {
                self.request.send().await
            }
        }

        send_on_await!($name => $output);
    };
}

/// Makes operation builders awaitable: `impl IntoFuture` that calls the builder's
/// `async fn send(self) -> Result<T>`. The future is `Send + 'static`.
///
/// ```text
/// send_on_await!(CreateIncident => Incident, AddComment => ());
/// ```
macro_rules! send_on_await {
    ($( $builder:ty => $output:ty ),+ $(,)?) => {
        $(
            impl ::std::future::IntoFuture for $builder {
                type Output = $crate::Result<$output>;
                type IntoFuture = ::futures::future::BoxFuture<'static, Self::Output>;

                fn into_future(self) -> Self::IntoFuture {
                    Box::pin(self.send())
                }
            }
        )+
    };
}

/// The methods of every list builder: the bounds `max_items` and `max_pages`, kept in the
/// builder's [`Bounds`](crate::paginate::Bounds) field named by the second argument, and the
/// three ways to run it, `stream`, `pages` and `first_page`, all from the builder's
/// `fn paginator(self) -> Paginator<$item>`.
macro_rules! listing_methods {
    ($item:ty, $($bounds:ident).+) => {
        /// Ends the listing normally after `n` items, for a listing that might never end (see
        /// [`Paginator::max_items`](crate::Paginator::max_items)).
        pub fn max_items(mut self, n: u64) -> Self {
            self.$($bounds).+.max_items = Some(n);
            self
        }

        /// Ends the listing normally after `n` pages, for a listing that might never end (see
        /// [`Paginator::max_pages`](crate::Paginator::max_pages)).
        pub fn max_pages(mut self, n: u64) -> Self {
            self.$($bounds).+.max_pages = Some(n);
            self
        }

        /// Every item of the listing, page after page; the next page is fetched while the
        /// current one is consumed (see [`Paginator`](crate::Paginator)). An argument refused
        /// before sending is the first item.
        pub fn stream(self) -> crate::Paginator<$item> {
            self.paginator()
        }

        /// The listing as whole pages.
        pub fn pages(self) -> crate::Pages<$item> {
            self.paginator().pages()
        }

        /// Only the first page.
        pub async fn first_page(self) -> crate::Result<crate::Page<$item>> {
            self.paginator().first_page().await
        }
    };
}
