//! The `/metrics` endpoint: a small HTTP server on a background thread.

#[allow(
    clippy::wildcard_imports,
    reason = "the exporter's modules share its imports"
)]
use super::*;

/// Answers requests until the server is unblocked: `GET`/`HEAD /metrics` gets the metrics,
/// other paths 404, other methods 405.
pub(super) fn answer(server: &tiny_http::Server, exporter: &PrometheusExporter) {
    for request in server.incoming_requests() {
        let path = request.url().split('?').next().unwrap_or("");
        let method = request.method();
        let is_read = matches!(method, tiny_http::Method::Get | tiny_http::Method::Head);
        let response = if path != "/metrics" {
            tiny_http::Response::from_string("not found; metrics are at /metrics\n")
                .with_status_code(404)
        } else if !is_read {
            tiny_http::Response::from_string("only GET and HEAD are allowed\n")
                .with_status_code(405)
        } else {
            let response = tiny_http::Response::from_string(exporter.render());
            match tiny_http::Header::from_bytes("Content-Type", PROMETHEUS_CONTENT_TYPE) {
                Ok(header) => response.with_header(header),
                Err(()) => response,
            }
        };
        // A scraper that hung up early is no concern of the server's.
        let _ = request.respond(response);
    }
}

/// A running `/metrics` endpoint; stops answering when dropped or shut down.
///
/// ```
/// use perftrack::{PrometheusConfig, PrometheusExporter};
/// let server = PrometheusExporter::new(PrometheusConfig::default()).serve_local(0)?;
/// println!("serving on {}", server.local_addr());
/// drop(server); // stops answering and joins the answering thread
/// # Ok::<(), perftrack::Error>(())
/// ```
pub struct MetricsServer {
    pub(super) local_addr: SocketAddr,
    pub(super) server: Arc<tiny_http::Server>,
    pub(super) thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for MetricsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsServer")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl MetricsServer {
    /// The address the endpoint listens on (with the port chosen, if 0 was asked for).
    ///
    /// ```
    /// use perftrack::{PrometheusConfig, PrometheusExporter};
    /// let server = PrometheusExporter::new(PrometheusConfig::default()).serve_local(0)?;
    /// println!("scrape http://{}/metrics", server.local_addr());
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops answering and joins the thread that answers. The HTTP crate's own accepting
    /// thread releases the port moments later, once it notices.
    ///
    /// ```
    /// use perftrack::{PrometheusConfig, PrometheusExporter};
    /// PrometheusExporter::new(PrometheusConfig::default()).serve_local(0)?.shutdown();
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            // The thread only renders and writes; a panic there has nothing left to clean up.
            let _ = thread.join();
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop();
    }
}
