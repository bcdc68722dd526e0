//! [`Interleave`]: several sources at once, fairly.

use std::future::poll_fn;
use std::task::Poll;

use async_trait::async_trait;
use savant_sdk_core::source::{Source, SourceItem};
use tokio::sync::mpsc;

/// Runs `sources` concurrently and interleaves their items fairly (round
/// robin over the sources that have an item ready). Each keeps its own
/// source ids and EOS. Each source runs in a tokio task with a one-item
/// buffer, so a fast source cannot run ahead of what is sent.
///
/// ```
/// use savant_sdk_core::source::Source;
/// use savant_sdk_sources::{interleave, JpegSource};
/// # fn run(a: JpegSource, b: JpegSource) {
/// let both = interleave(vec![Box::new(a) as Box<dyn Source>, Box::new(b)]);
/// # }
/// ```
pub fn interleave(sources: Vec<Box<dyn Source>>) -> Interleave {
    Interleave {
        pending: sources,
        channels: Vec::new(),
        start: 0,
    }
}

/// See [`interleave`].
pub struct Interleave {
    pending: Vec<Box<dyn Source>>,
    channels: Vec<Option<mpsc::Receiver<savant_sdk_core::Result<SourceItem>>>>,
    start: usize,
}

impl std::fmt::Debug for Interleave {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interleave")
            .field("sources", &(self.pending.len() + self.channels.len()))
            .finish()
    }
}

impl Interleave {
    /// Starts the sources' tasks (on the first `next`, inside the runtime).
    fn start(&mut self) {
        for mut source in self.pending.drain(..) {
            let (tx, rx) = mpsc::channel(1);
            tokio::spawn(async move {
                loop {
                    match source.next().await {
                        Ok(Some(item)) => {
                            if tx.send(Ok(item)).await.is_err() {
                                return;
                            }
                        }
                        Ok(None) => return,
                        Err(e) => {
                            let _ = tx.send(Err(e)).await;
                            return;
                        }
                    }
                }
            });
            self.channels.push(Some(rx));
        }
    }
}

#[async_trait]
impl Source for Interleave {
    async fn next(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
        if !self.pending.is_empty() {
            self.start();
        }
        let n = self.channels.len();
        poll_fn(|cx| {
            let mut open = 0;
            for i in 0..n {
                let idx = (self.start + i) % n;
                let Some(rx) = self.channels[idx].as_mut() else {
                    continue;
                };
                match rx.poll_recv(cx) {
                    Poll::Ready(Some(item)) => {
                        // the next call starts after this source: round robin
                        self.start = idx + 1;
                        return Poll::Ready(item.map(Some));
                    }
                    Poll::Ready(None) => self.channels[idx] = None,
                    Poll::Pending => open += 1,
                }
            }
            if open == 0 {
                Poll::Ready(Ok(None))
            } else {
                Poll::Pending
            }
        })
        .await
    }

    fn name(&self) -> &str {
        "interleave"
    }
}
