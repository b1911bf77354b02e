//! Every word the kiosk shows, in English and French, in one catalogue.
//!
//! [`text`] gives a string for a [`Key`] in a [`Lang`]; strings with a `{name}` or `{time}`
//! slot are filled with [`fill`]. The people at the screen switch language with the button
//! in the corner; `kiosk --lang fr` picks the first one.

/// A language of the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Fr,
}

impl Lang {
    /// `en` or `fr`, as on the command line.
    pub fn parse(code: &str) -> Option<Lang> {
        match code {
            "en" => Some(Lang::En),
            "fr" => Some(Lang::Fr),
            _ => None,
        }
    }

    /// The language the switch button offers.
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Fr,
            Lang::Fr => Lang::En,
        }
    }

    /// The language's own name, as the switch button shows it.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Fr => "Français",
        }
    }
}

macro_rules! catalogue {
    ($($key:ident => $en:literal, $fr:literal;)*) => {
        /// A string of the catalogue.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Key { $($key),* }

        #[cfg(test)]
        impl Key {
            /// Every key, for the catalogue's own tests.
            pub const ALL: &[Key] = &[$(Key::$key),*];
        }

        /// The string for `key` in `lang`.
        pub fn text(lang: Lang, key: Key) -> &'static str {
            match key {
                $(Key::$key => match lang {
                    Lang::En => $en,
                    Lang::Fr => $fr,
                }),*
            }
        }
    };
}

catalogue! {
    Reconnecting => "Reconnecting to the unit…", "Reconnexion à l’appareil…";
    PrivacyOn => "Camera off: the privacy switch is on. Nobody can see you.",
        "Caméra coupée : l’interrupteur de confidentialité est activé. Personne ne vous voit.";
    PrivacyTitle => "Camera off", "Caméra coupée";
    CameraStarting => "Camera starting…", "Démarrage de la caméra…";
    AskMyFriends => "Ask my friends", "Demander à mes amis";
    ShareThisDinner => "Share this dinner", "Partager ce dîner";
    ScanToJoin => "Scan to join", "Scannez pour nous rejoindre";
    LinkValidFor => "Link valid for {time}", "Lien valable encore {time}";
    NothingRecorded => "Nothing is ever recorded.", "Rien n’est jamais enregistré.";
    WantsToJoin => "{name} wants to join", "{name} souhaite vous rejoindre";
    LetIn => "Let in", "Faire entrer";
    NotNow => "Not now", "Pas maintenant";
    Connecting => "{name}: connecting…", "{name} : connexion…";
    Watching => "• {name} is watching", "• {name} regarde";
    End => "End", "Terminer";
    NeedsStaff => "This unit needs staff attention", "Cet appareil a besoin d’un membre du personnel";
    SaveLook => "Save this look", "Garder cette tenue";
    Look => "Look {n}", "Tenue {n}";
    PickTwo => "Pick two looks to compare", "Choisissez deux tenues à comparer";
    Compare => "Ask which one", "Demander laquelle";
    VotesOne => "Look {n}: 1 vote", "Tenue {n} : 1 vote";
    VotesMany => "Look {n}: {votes} votes", "Tenue {n} : {votes} votes";
    CloseVote => "Close the vote", "Clore le vote";
    ChatLine => "{name}: {text}", "{name} : {text}";
    ReactionFrom => "{name}: {word}", "{name} : {word}";
    ReactHeart => "Love it!", "J’adore !";
    ReactThumbsUp => "Yes!", "Oui !";
    ReactFire => "Stunning!", "Canon !";
    ReactLaugh => "Ha ha!", "Ha ha !";
    ReactWow => "Wow!", "Waouh !";
    ReactClap => "Bravo!", "Bravo !";
    AttractRoomTitle => "Ask your friends", "Demandez à vos amis";
    AttractRoomLine => "Show them your outfit live, and let them vote for their favourite.",
        "Montrez-leur votre tenue en direct, et laissez-les voter pour leur préférée.";
    AttractTableTitle => "Dinner with loved ones, near or far", "Un dîner avec vos proches, même loin";
    AttractTableLine => "Invite family and friends to join your table by video.",
        "Invitez famille et amis à rejoindre votre table en vidéo.";
    TapToStart => "Tap to start", "Touchez pour commencer";
    Staff => "Staff", "Personnel";
    StaffPin => "Staff PIN", "Code du personnel";
    Delete => "Delete", "Effacer";
    Ok => "OK", "Valider";
    Close => "Close", "Fermer";
    StaffUnit => "Unit: {v}", "Appareil : {v}";
    StaffStore => "Store: {v}", "Magasin : {v}";
    StaffLocation => "Location: {v}", "Emplacement : {v}";
    StaffMode => "Mode: {v}", "Mode : {v}";
    StaffVersion => "Version: {v}", "Version : {v}";
    StaffServer => "Server: {v}", "Serveur : {v}";
    StaffOnline => "connected", "connecté";
    StaffOffline => "not connected", "non connecté";
    StaffNetwork => "Network: {v}", "Réseau : {v}";
    StaffCamera => "Camera: {v}", "Caméra : {v}";
    StaffMicrophone => "Microphone: {v}", "Micro : {v}";
    StaffEncoder => "Encoder: {v}", "Encodeur : {v}";
    StaffUplink => "Sending: {v}", "Envoi : {v}";
    StaffCounters => "Camera frames {captured}, encoded {encoded}; microphone frames {audio}",
        "Images caméra {captured}, encodées {encoded} ; trames micro {audio}";
    StaffNoProblems => "No problems", "Aucun problème";
    StaffProblems => "Problems:", "Problèmes :";
    StaffRecentErrors => "Recent warnings and errors:", "Avertissements et erreurs récents :";
    StaffRestart => "Restart the unit", "Redémarrer l’appareil";
    MuteMic => "Mute microphone", "Couper le micro";
    UnmuteMic => "Turn microphone on", "Rallumer le micro";
    PauseCamera => "Pause camera", "Mettre la caméra en pause";
    ResumeCamera => "Resume camera", "Reprendre la caméra";
    CameraPaused => "Your guests see a “camera paused” card.",
        "Vos invités voient un carton « caméra en pause ».";
    CallWaiter => "Call a waiter", "Appeler un serveur";
    Speaking => "speaking", "parle";
    You => "You", "Vous";
    Volume => "{n}%", "{n} %";
    LiveOne => "● LIVE · 1 watching", "● EN DIRECT · 1 regarde";
    LiveMany => "● LIVE · {n} watching", "● EN DIRECT · {n} regardent";
    BarMic => "Mic", "Micro";
    BarMicOff => "Mic off", "Micro coupé";
    BarCamera => "Camera", "Caméra";
    BarCameraOff => "Paused", "En pause";
    BarSave => "Save look", "Garder la tenue";
    BarInvite => "Invite", "Inviter";
    BarWaiter => "Waiter", "Serveur";
    EndConfirm => "End and erase everything?", "Terminer et tout effacer ?";
    EndConfirmLine => "Looks, votes, chat and the invite are erased; guests leave the call.",
        "Tenues, votes, messages et invitation sont effacés ; les invités quittent l’appel.";
    EndErase => "End and erase", "Terminer et effacer";
    KeepGoing => "Keep going", "Continuer";
    GetReady => "Get ready: {n}", "Prêt ? {n}";
    RestartConfirm => "Restart the unit now? A call in progress ends.",
        "Redémarrer l’appareil maintenant ? Un appel en cours s’arrête.";
    RestartNow => "Restart now", "Redémarrer maintenant";
    Cancel => "Cancel", "Annuler";
    CameraPausedCard => "Your camera is paused", "Votre caméra est en pause";
    Quieter => "Quieter", "Moins fort";
    Louder => "Louder", "Plus fort";
    WaiterCalled => "A waiter has been called.", "Un serveur a été appelé.";
    Erased => "Everything from this session has been erased.",
        "Tout ce qui concernait cette session a été effacé.";
}

/// `template` with each `{slot}` replaced by its value.
pub fn fill(template: &str, slots: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (slot, value) in slots {
        out = out.replace(&format!("{{{slot}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `{slot}` names in a string, sorted.
    fn slots(s: &str) -> Vec<&str> {
        let mut v: Vec<&str> = s
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(slot, _)| slot))
            .collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn every_key_has_both_languages_with_the_same_slots() {
        for key in Key::ALL {
            let (en, fr) = (text(Lang::En, *key), text(Lang::Fr, *key));
            assert!(!en.trim().is_empty() && !fr.trim().is_empty(), "{key:?}");
            assert_eq!(slots(en), slots(fr), "{key:?}: {en} / {fr}");
        }
    }

    #[test]
    fn french_is_not_english() {
        // Names and symbols aside, a French string equal to the English one is a string
        // nobody translated.
        for key in Key::ALL {
            assert_ne!(text(Lang::En, *key), text(Lang::Fr, *key), "{key:?}");
        }
    }

    #[test]
    fn slots_are_filled() {
        let s = fill(text(Lang::Fr, Key::WantsToJoin), &[("name", "Camille")]);
        assert_eq!(s, "Camille souhaite vous rejoindre");
        assert_eq!(
            fill(text(Lang::En, Key::LinkValidFor), &[("time", "14:59")]),
            "Link valid for 14:59"
        );
    }

    #[test]
    fn the_switch_offers_the_other_language() {
        assert_eq!(Lang::En.other(), Lang::Fr);
        assert_eq!(Lang::Fr.other().name(), "English");
        assert_eq!(Lang::parse("fr"), Some(Lang::Fr));
        assert_eq!(Lang::parse("de"), None);
    }
}
