use super::*;

fn g(s: &str) -> GuestId {
    s.to_owned()
}

fn shown(board: &Board, viewer: &str) -> Vec<Option<String>> {
    board
        .slots(&g(viewer))
        .iter()
        .map(|s| s.as_ref().map(|p| p.to_string()))
        .collect()
}

fn some(names: &[&str]) -> Vec<Option<String>> {
    names
        .iter()
        .map(|n| (!n.is_empty()).then(|| n.to_string()))
        .collect()
}

#[test]
fn everyone_sees_the_others_and_never_themself() {
    let mut b = Board::default();
    for who in ["jo", "ana", "cam"] {
        b.view(&g(who), 3);
        b.publish(&g(who), who);
    }
    assert_eq!(shown(&b, "jo"), some(&["ana", "cam", ""]));
    assert_eq!(shown(&b, "ana"), some(&["jo", "cam", ""]));
    assert_eq!(shown(&b, "cam"), some(&["jo", "ana", ""]));
}

#[test]
fn a_leaver_frees_their_slot_everywhere_and_the_others_stay_put() {
    let mut b = Board::default();
    for who in ["jo", "ana", "cam", "leo"] {
        b.view(&g(who), 3);
        b.publish(&g(who), who);
    }
    let changed = b.unpublish(&g("ana"));
    assert_eq!(changed, vec![g("cam"), g("jo"), g("leo")]);
    assert_eq!(shown(&b, "jo"), some(&["", "cam", "leo"]));
    assert!(!b.seen(&g("ana")));
    // A newcomer takes the lowest free slot.
    b.publish(&g("eve"), "eve");
    assert_eq!(shown(&b, "jo"), some(&["eve", "cam", "leo"]));
}

#[test]
fn a_thin_link_sees_the_latest_speakers_first() {
    let mut b = Board::default();
    for who in ["jo", "ana", "cam", "leo"] {
        b.publish(&g(who), who);
    }
    b.view(&g("jo"), 3);
    assert_eq!(b.set_capacity(&g("jo"), 1), vec![g("jo")]);
    // Nobody spoke yet: who published first.
    assert_eq!(shown(&b, "jo"), some(&["ana", "", ""]));
    assert_eq!(b.speaking(&g("leo"), true), vec![g("jo")]);
    assert_eq!(shown(&b, "jo"), some(&["leo", "", ""]));
    // Stopping changes nothing; the next speaker takes over.
    assert!(b.speaking(&g("leo"), false).is_empty());
    b.speaking(&g("cam"), true);
    assert_eq!(shown(&b, "jo"), some(&["cam", "", ""]));
    // More room: the most recent speakers come back first.
    b.set_capacity(&g("jo"), 2);
    assert_eq!(shown(&b, "jo"), some(&["cam", "leo", ""]));
    // The viewer's own voice never brings them into their own slots.
    b.speaking(&g("jo"), true);
    assert_eq!(shown(&b, "jo"), some(&["cam", "leo", ""]));
}

#[test]
fn capacity_never_exceeds_the_slots_offered() {
    let mut b = Board::default();
    b.view(&g("jo"), 1);
    for who in ["ana", "cam"] {
        b.publish(&g(who), who);
    }
    b.set_capacity(&g("jo"), 9);
    assert_eq!(shown(&b, "jo"), some(&["ana"]));
}

#[test]
fn a_viewer_who_leaves_is_forgotten() {
    let mut b = Board::default();
    b.view(&g("jo"), 2);
    b.publish(&g("ana"), "Ana");
    assert!(b.seen(&g("ana")));
    assert_eq!(b.name(&g("ana")), Some("Ana"));
    b.unview(&g("jo"));
    assert!(!b.seen(&g("ana")));
    assert!(b.slots(&g("jo")).is_empty());
}
