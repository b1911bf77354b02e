//! A table of guests in a call: a real unit at a table, its rendezvous, and real Chromium
//! guests who joined and were let in, as the group tests start.

use crate::error::Result;
use crate::{Appliance, ApplianceConfig, Chromedriver, Guest, Rendezvous, RendezvousConfig};

/// Everything [`Table::start`] started, declared so that it drops in order (the guests
/// first, rendezvous last).
pub struct Table {
    /// In the order they joined.
    pub guests: Vec<Guest>,
    pub driver: Chromedriver,
    pub unit: Appliance,
    pub rendezvous: Rendezvous,
    /// The invite they joined by.
    pub url: String,
}

impl Table {
    /// A unit of `config` at a table, and each of `guests` (a name and Chromium's extra
    /// arguments) joined through one invite and let in, one after another.
    pub async fn start(config: ApplianceConfig, guests: &[(&str, Vec<String>)]) -> Result<Table> {
        let rendezvous = Rendezvous::start(RendezvousConfig::default())?;
        let mut unit = Appliance::start(
            &rendezvous,
            ApplianceConfig {
                mode: visavis_api::Mode::Table,
                ..config
            },
        )?;
        let url = unit.create_invite(crate::timeouts::media())?;
        let driver = Chromedriver::start()?;
        let mut joined = Vec::new();
        for (name, args) in guests {
            let guest = driver.new_guest_with_args(args).await?;
            guest.join_admitted(&url, name, &unit).await?;
            joined.push(guest);
        }
        Ok(Table {
            guests: joined,
            driver,
            unit,
            rendezvous,
            url,
        })
    }

    /// A table of three guests, `names`, at a unit whose uplink (2.8 Mbit/s,
    /// `max_guests` = 3) has every picture they forward each other lowered (55 kbit/s at
    /// 15 frames a second where they usually get 150 at 30).
    pub async fn start_lowered(names: &[&str; 3]) -> Result<Table> {
        Table::start(
            ApplianceConfig {
                extra_toml: "max_guests = 3\n\n[uplink]\nmax_kbps = 2800\n".into(),
                ..Default::default()
            },
            &names.map(|n| (n, Vec::new())),
        )
        .await
    }
}
