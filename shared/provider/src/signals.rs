//! The signals that stop a service: SIGTERM (`docker stop`, Kubernetes) and SIGINT
//! (Ctrl-C).
//!
//! A process that runs as PID 1 in a container gets no default disposition for these
//! signals: unless it installs handlers, the kernel drops them and the container only
//! stops when Docker's SIGKILL comes after its grace period (exit code 137). Installing
//! the handlers at startup makes both signals a clean stop, whatever the PID.

use std::fmt;
use std::io;

use tokio::signal::unix::{Signal, SignalKind, signal};

/// A signal that asks the process to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGTERM.
    Terminate,
    /// SIGINT.
    Interrupt,
}

impl fmt::Display for StopSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopSignal::Terminate => "SIGTERM",
            StopSignal::Interrupt => "SIGINT",
        })
    }
}

/// Handlers for SIGTERM and SIGINT, installed for the rest of the process's life.
#[derive(Debug)]
pub struct StopSignals {
    terminate: Signal,
    interrupt: Signal,
}

impl StopSignals {
    /// Installs the handlers; must be called inside a tokio runtime (an actix system is
    /// one). Fails only if the operating system refuses them.
    pub fn install() -> io::Result<Self> {
        Ok(Self {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// Waits for the next SIGTERM or SIGINT.
    pub async fn recv(&mut self) -> StopSignal {
        tokio::select! {
            _ = self.terminate.recv() => StopSignal::Terminate,
            _ = self.interrupt.recv() => StopSignal::Interrupt,
        }
    }
}
