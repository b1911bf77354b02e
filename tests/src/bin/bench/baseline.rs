//! The baseline: Chromium sends the clip as its camera to another Chromium, peer to peer.

use std::fmt;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;
use visavis_e2e::lab::{Netns, probe};
use visavis_e2e::procstat;
use visavis_e2e::wait::{self, Check};
use visavis_e2e::{Chromedriver, Error, Guest, Result};

const PAGE: &str = include_str!("baseline.html");
const LOOPBACK: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

pub struct Report {
    cpu_per_sec: f64,
    pss_mb: f64,
    fps: f64,
    size: (u64, u64),
}

impl Report {
    pub fn cpu_ms_per_frame(&self) -> f64 {
        self.cpu_per_sec * 1000.0 / self.fps
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "baseline, Chromium -> Chromium, same clip as the sender's camera:"
        )?;
        writeln!(
            f,
            "  delivered {:.1} fps at {}x{}",
            self.fps, self.size.0, self.size.1
        )?;
        writeln!(
            f,
            "  sender process tree: {:.3} CPU-s/s, PSS {:.1} MB, {:.2} CPU-ms per delivered frame",
            self.cpu_per_sec,
            self.pss_mb,
            self.cpu_ms_per_frame()
        )
    }
}

/// The baseline page, served on a loopback until dropped.
pub struct PageServer {
    url: String,
    addr: SocketAddr,
    /// The lab namespace it listens in; `None`: the bench's own.
    ns: Option<Netns>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl PageServer {
    /// Serve on the bench's own loopback.
    pub fn start() -> Result<PageServer> {
        let listener = TcpListener::bind(LOOPBACK).map_err(|e| Error::new(e.to_string()))?;
        Self::serve(listener, None)
    }

    /// Serve on the loopback of a lab namespace (a browser there reaches it as a secure
    /// origin).
    pub fn start_in(ns: &Netns) -> Result<PageServer> {
        Self::serve(probe::tcp_listener(ns, LOOPBACK)?, Some(ns.clone()))
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn serve(listener: TcpListener, ns: Option<Netns>) -> Result<PageServer> {
        let addr = listener
            .local_addr()
            .map_err(|e| Error::new(e.to_string()))?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                for mut stream in listener.incoming().flatten() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let mut buf = [0u8; 4096];
                    let _ = stream.read(&mut buf);
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{PAGE}",
                        PAGE.len()
                    );
                }
            })
        };
        Ok(PageServer {
            url: format!("http://{addr}/"),
            addr,
            ns,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for PageServer {
    /// Stop, and wake the listener with a connection of our own so its thread ends.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let woken = match &self.ns {
            Some(ns) => probe::tcp_connect(ns, self.addr, Duration::from_secs(1)).is_ok(),
            None => TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok(),
        };
        if let Some(thread) = self.thread.take().filter(|_| woken) {
            let _ = thread.join();
        }
    }
}

/// Run `script` (a promise) on the baseline page; its value, or the page's error.
pub async fn call(
    guest: &Guest,
    script: &str,
    args: Vec<serde_json::Value>,
) -> Result<serde_json::Value> {
    let script = format!(
        "const done = arguments[arguments.length - 1]; {script}.then(done, (e) => done({{error: String(e)}}));"
    );
    let v = guest
        .webdriver()
        .execute_async(&script, args)
        .await
        .map_err(|e| Error::new(format!("baseline page: {e}")))?;
    if let Some(e) = v.get("error") {
        return Err(Error::new(format!("baseline page: {e}")));
    }
    Ok(v)
}

pub async fn run(clip: &Path) -> Result<Report> {
    let page = PageServer::start()?;
    let url = page.url();
    let sender_driver = Chromedriver::start()?;
    let receiver_driver = Chromedriver::start()?;
    let sender = sender_driver
        .new_guest_with_args(&[format!(
            "--use-file-for-fake-video-capture={}",
            clip.display()
        )])
        .await?;
    let receiver = receiver_driver.new_guest().await?;
    sender.open(url).await?;
    receiver.open(url).await?;
    let offer = call(&sender, "window.bench.send()", vec![]).await?;
    let answer = call(&receiver, "window.bench.receive(arguments[0])", vec![offer]).await?;
    call(&sender, "window.bench.accept(arguments[0])", vec![answer]).await?;
    let stats = || async {
        let s = call(&receiver, "window.bench.stats()", vec![]).await?;
        Ok::<_, Error>((
            s["framesDecoded"].as_u64().unwrap_or(0),
            (
                s["frameWidth"].as_u64().unwrap_or(0),
                s["frameHeight"].as_u64().unwrap_or(0),
            ),
        ))
    };
    wait::until("the receiver decodes", Duration::from_secs(60), || async {
        let s = stats().await?;
        Ok(if s.0 > 30 {
            Check::Ready(())
        } else {
            Check::NotYet(format!("{s:?}"))
        })
    })
    .await?;
    // Browsers start at a low bitrate and ramp up; measure at the size the unit sends.
    let warmed = wait::until(
        "the receiver gets 1280x720",
        Duration::from_secs(30),
        || async {
            let s = stats().await?;
            Ok(if s.1.0 >= 1280 {
                Check::Ready(())
            } else {
                Check::NotYet(format!("{s:?}"))
            })
        },
    )
    .await;
    if let Err(e) = warmed {
        println!("baseline: measuring below 720p: {e}");
    }
    // The sender is everything chromedriver started for it (chromedriver itself excluded).
    let sender_tree = || {
        let root = sender_driver.pid();
        let tree = procstat::tree(root);
        tree.into_iter()
            .filter(|p| *p != root)
            .fold((0.0, 0), |(c, m), p| {
                (c + procstat::cpu_seconds(p), m + procstat::pss_kb(p))
            })
    };
    let (frames0, _) = stats().await?;
    let (cpu0, _) = sender_tree();
    let elapsed = super::measure_window().await?;
    let (frames1, size) = stats().await?;
    let (cpu1, pss) = sender_tree();
    sender.close().await?;
    receiver.close().await?;
    Ok(Report {
        cpu_per_sec: (cpu1 - cpu0) / elapsed,
        pss_mb: pss as f64 / 1024.0,
        fps: (frames1 - frames0) as f64 / elapsed,
        size,
    })
}
