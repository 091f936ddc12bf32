//! Run-time settings, resolved from flags and environment, printable with secrets masked.

use std::{fmt, net::SocketAddr, path::PathBuf, time::Duration};

use crate::cli::{DatabaseArgs, ServeArgs};

/// Where the chain node is.
#[derive(Clone, Debug)]
pub enum ChainSettings {
    /// Start the development chain inside this process.
    Embedded { block_interval: Duration },
    /// Talk to a node at this JSON-RPC URL, on this network (address versions).
    Remote {
        rpc_url: String,
        network: mvs::Network,
    },
}

/// Everything `pointmint serve` needs to run.
#[derive(Clone, Debug)]
pub struct Settings {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub chain: ChainSettings,
    pub smtp_url: Option<String>,
    pub site_root: PathBuf,
    /// Origin for links in mails; `None` means `http://` + the bound address.
    pub public_url: Option<String>,
    /// Sender of outgoing mail; `None` means `pointmint <no-reply@localhost>`.
    pub mail_from: Option<String>,
    /// Outgoing webhooks: allowed targets, retry schedule, polling.
    pub webhooks: WebhookSettings,
    /// The chain worker inside this process.
    pub worker: WorkerConfig,
}

/// Whether this process runs the chain worker, and how.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// `false` for web-only processes when separate `pointmint worker` processes do the work.
    pub enabled: bool,
    pub settings: crate::worker::WorkerSettings,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            settings: Default::default(),
        }
    }
}

/// How outgoing webhooks are delivered.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// Allow endpoints on loopback and private networks (`POINTMINT_WEBHOOK_ALLOW_PRIVATE`).
    pub allow_private: bool,
    /// Retry delays; tests shrink the unit to milliseconds.
    pub schedule: app::domain::webhooks::schedule::WebhookSchedule,
    /// How often the dispatcher looks for new events and due deliveries when idle.
    pub poll_interval: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_private: false,
            schedule: Default::default(),
            poll_interval: Duration::from_secs(1),
        }
    }
}

impl Settings {
    pub fn from_serve_args(args: ServeArgs) -> Self {
        let chain = match args.mvs_rpc_url {
            Some(rpc_url) => ChainSettings::Remote {
                rpc_url,
                network: args.mvs_network.into(),
            },
            None => ChainSettings::Embedded {
                block_interval: args.devnet_block_interval,
            },
        };
        Self {
            addr: args.addr,
            database_url: database_url(&args.database),
            data_dir: args.database.data_dir,
            chain,
            smtp_url: args.smtp_url,
            site_root: args.site_root,
            public_url: args.public_url,
            mail_from: args.mail_from,
            webhooks: WebhookSettings {
                allow_private: args.webhook_allow_private,
                ..Default::default()
            },
            worker: WorkerConfig {
                enabled: !args.no_worker,
                settings: crate::worker::WorkerSettings {
                    required_confirmations: args.required_confirmations,
                    poll_interval: args.batch_window,
                    ..Default::default()
                },
            },
        }
    }
}

/// The configured database URL, or a SQLite file inside the data directory.
pub fn database_url(args: &DatabaseArgs) -> String {
    match &args.database_url {
        Some(url) => url.clone(),
        None => format!("sqlite://{}", args.data_dir.join("pointmint.db").display()),
    }
}

impl fmt::Display for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "  listen address   {}", self.addr)?;
        writeln!(f, "  data directory   {}", self.data_dir.display())?;
        writeln!(
            f,
            "  database         {}",
            mask_url_secret(&self.database_url)
        )?;
        match &self.chain {
            ChainSettings::Embedded { block_interval } => writeln!(
                f,
                "  MVS node         embedded development chain (block interval {block_interval:?})"
            )?,
            ChainSettings::Remote { rpc_url, network } => writeln!(
                f,
                "  MVS node         {} ({network:?})",
                mask_url_secret(rpc_url)
            )?,
        }
        match &self.smtp_url {
            Some(url) => writeln!(f, "  mail             {}", mask_url_secret(url))?,
            None => writeln!(
                f,
                "  mail             .eml files in {}",
                self.data_dir.join("outbox").display()
            )?,
        }
        if let Some(url) = &self.public_url {
            writeln!(f, "  public URL       {url}")?;
        }
        if self.webhooks.allow_private {
            writeln!(f, "  webhooks         private and loopback targets allowed")?;
        }
        write!(f, "  browser assets   {}", self.site_root.display())
    }
}

/// Replaces the password of `scheme://user:password@host/...` with `***`.
pub fn mask_url_secret(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let authority_end = url[scheme_end..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| scheme_end + i);
    let authority = &url[scheme_end..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &authority[..at];
    let masked_userinfo = match userinfo.split_once(':') {
        Some((user, _password)) => format!("{user}:***"),
        None => userinfo.to_owned(),
    };
    format!(
        "{}{}{}",
        &url[..scheme_end],
        masked_userinfo,
        &url[scheme_end + at..]
    )
}

#[cfg(test)]
mod tests {
    use super::mask_url_secret;

    #[test]
    fn passwords_are_masked_and_nothing_else_changes() {
        assert_eq!(
            mask_url_secret("postgres://app:s3cret@db:5432/pm"),
            "postgres://app:***@db:5432/pm"
        );
        assert_eq!(
            mask_url_secret("smtp://mailer:p%40ss@mx?tls=starttls"),
            "smtp://mailer:***@mx?tls=starttls"
        );
        assert_eq!(
            mask_url_secret("postgres://app@db/pm"),
            "postgres://app@db/pm"
        );
        assert_eq!(
            mask_url_secret("sqlite://data/pointmint.db"),
            "sqlite://data/pointmint.db"
        );
    }
}
