//! Writing the files first boot leaves behind: atomically, with the right mode.

use std::path::Path;

pub use visavis_api::fleet::atomic::write as atomic_write;

/// Point the symlink `link` at `target`, replacing what was there in one rename.
pub fn atomic_symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    let dir = link.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".visavis-link.tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    std::fs::rename(&tmp, link)?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// A NetworkManager keyfile for the store's Wi-Fi (NetworkManager keeps the key itself,
/// in a root-only file).
pub fn network_manager_wifi(ssid: &str, key: &str) -> String {
    format!(
        "# Written by applianced first-boot from the unit's seed.\n\
         [connection]\nid=visavis-wifi\ntype=wifi\nautoconnect=true\n\n\
         [wifi]\nmode=infrastructure\nssid={ssid}\n\n\
         [wifi-security]\nkey-mgmt=wpa-psk\npsk={key}\n\n\
         [ipv4]\nmethod=auto\n\n[ipv6]\nmethod=auto\n"
    )
}

/// The id of group `name` in the text of an `/etc/group` file.
pub fn group_id(groups: &str, name: &str) -> Option<u32> {
    groups.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next()? == name).then_some(())?;
        fields.nth(1)?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_ids_are_read_from_the_group_file() {
        let groups = "root:x:0:\nvideo:x:44:visavis\nvisavis:x:998:\nbroken\n";
        assert_eq!(group_id(groups, "visavis"), Some(998));
        assert_eq!(group_id(groups, "video"), Some(44));
        assert_eq!(group_id(groups, "gpio"), None);
        assert_eq!(group_id(groups, "broken"), None);
    }

    #[test]
    fn the_wifi_connection_holds_the_network() {
        let text = network_manager_wifi("Boutique", "k3y-k3y-k3y");
        assert!(text.contains("ssid=Boutique\n") && text.contains("psk=k3y-k3y-k3y\n"));
        assert!(text.contains("key-mgmt=wpa-psk"));
    }
}
