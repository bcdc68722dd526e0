//! Frames per second of the example `synthetic` source, loaded from its
//! `.so` and linked statically, in the same run: the cost of the plugin
//! boundary (encode, hand over, decode; the payload is not copied).
//!
//! `cargo bench -p savant-sdk-plugin-host --bench plugin_source`
//! (`FRAMES=N` to change the count per round).

use std::time::Instant;

use anyhow::{Context, Result};
use savant_sdk_core::source::Source;
use savant_sdk_plugin_host::{library_next_to_executable, PluginRegistry};

// Link the example statically (its registration comes with it).
use savant_sdk_example_synthetic_source as _;

fn round(
    registry: &PluginRegistry,
    config: &str,
    rt: &tokio::runtime::Runtime,
) -> Result<(u64, f64)> {
    let mut source = registry.source("synthetic", config)?;
    let start = Instant::now();
    let mut frames = 0u64;
    rt.block_on(async {
        while source.next().await?.is_some() {
            frames += 1;
        }
        Ok::<_, savant_sdk_core::Error>(())
    })?;
    Ok((frames, frames as f64 / start.elapsed().as_secs_f64()))
}

fn main() -> Result<()> {
    let frames: u64 = std::env::var("FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    let so = library_next_to_executable("savant_sdk_example_synthetic_source")
        .context("libsavant_sdk_example_synthetic_source.so not built")?;
    let mut dynamic = PluginRegistry::new();
    dynamic.load(&so)?;
    let linked = PluginRegistry::with_static()?;
    anyhow::ensure!(
        linked
            .info("synthetic")
            .is_some_and(|i| i.origin == savant_sdk_plugin_host::Origin::Static),
        "the example source is not linked in"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // 320x240: a realistic frame, the JPEG encoder dominates; 16x16: almost
    // nothing but the boundary (encode, hand over, decode the message)
    for (w, h) in [(320, 240), (16, 16)] {
        let config = format!("frames = {frames}\nwidth = {w}\nheight = {h}");
        let (mut best_static, mut best_dynamic) = (0f64, 0f64);
        for r in 0..5 {
            let (n1, s) = round(&linked, &config, &rt)?;
            let (n2, d) = round(&dynamic, &config, &rt)?;
            anyhow::ensure!(n1 == frames && n2 == frames, "frame counts {n1} / {n2}");
            println!("{w}x{h} round {r}: static {s:.0} fps, .so {d:.0} fps");
            best_static = best_static.max(s);
            best_dynamic = best_dynamic.max(d);
        }
        println!(
            "synthetic {w}x{h} JPEG, {frames} frames per round, best of 5: static {best_static:.0} fps, .so {best_dynamic:.0} fps, ratio .so/static {:.3}",
            best_dynamic / best_static
        );
    }
    Ok(())
}
