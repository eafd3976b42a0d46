//! Reading request bodies with a size limit.
//!
//! Both backends refuse bodies over [`BODY_LIMIT`]. An over-long body is still read to its end (up
//! to [`DRAIN_LIMIT`]) and thrown away before the refusal is sent: answering while the client is
//! still writing makes the kernel reset the connection, and the client would see "connection reset"
//! instead of the 413 it is owed.

use std::pin::Pin;

use axum::body::{Body, Bytes, HttpBody};

/// The largest request body a simulator accepts: 1 MiB (assumed; generous for any real call).
pub(crate) const BODY_LIMIT: usize = 1024 * 1024;

/// How much of an over-long body is drained before giving up on the connection.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Over [`BODY_LIMIT`].
    TooLarge,
    /// The client went away or sent a broken body.
    Broken,
}

/// Reads the whole body if it fits in [`BODY_LIMIT`].
pub(crate) async fn read(mut body: Body) -> Result<Bytes, BodyError> {
    let mut buf = Vec::new();
    while let Some(chunk) = next_data(&mut body).await? {
        if buf.len() + chunk.len() > BODY_LIMIT {
            drain(body, buf.len() + chunk.len()).await;
            return Err(BodyError::TooLarge);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buf))
}

async fn drain(mut body: Body, mut seen: usize) {
    while seen <= DRAIN_LIMIT {
        match next_data(&mut body).await {
            Ok(Some(chunk)) => seen += chunk.len(),
            Ok(None) | Err(_) => return,
        }
    }
}

/// The next data frame; trailers are skipped.
async fn next_data(body: &mut Body) -> Result<Option<Bytes>, BodyError> {
    loop {
        let frame = std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await;
        match frame {
            None => return Ok(None),
            Some(Err(_)) => return Err(BodyError::Broken),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    return Ok(Some(data));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_bodies_up_to_the_limit_and_refuses_larger_ones() {
        let ok = read(Body::from(vec![b'a'; BODY_LIMIT])).await.unwrap();
        assert_eq!(ok.len(), BODY_LIMIT);
        let too_big = read(Body::from(vec![b'a'; BODY_LIMIT + 1])).await;
        assert_eq!(too_big, Err(BodyError::TooLarge));
        assert!(read(Body::empty()).await.unwrap().is_empty());
    }
}
