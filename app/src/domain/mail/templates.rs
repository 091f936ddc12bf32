//! The text of every mail pointmint sends, each with a plain-text and an HTML body.

use super::OutgoingMail;
use crate::domain::email::Email;

/// Escapes text for HTML element content and double-quoted attributes.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn mail(
    to: &Email,
    subject: &str,
    paragraphs: &[&str],
    link: Option<(&str, &str)>,
    footer: &str,
) -> OutgoingMail {
    let mut text = String::new();
    let mut html = String::from("<!DOCTYPE html><html><body style=\"font-family:sans-serif\">");
    for paragraph in paragraphs {
        text.push_str(paragraph);
        text.push_str("\n\n");
        html.push_str(&format!("<p>{}</p>", escape_html(paragraph)));
    }
    if let Some((label, url)) = link {
        // The URL stands on a line of its own so every mail client makes it clickable.
        text.push_str(&format!("{label}:\n{url}\n\n"));
        html.push_str(&format!(
            "<p><a href=\"{0}\">{1}</a></p><p style=\"font-size:small\">{0}</p>",
            escape_html(url),
            escape_html(label)
        ));
    }
    text.push_str(footer);
    text.push('\n');
    html.push_str(&format!(
        "<p style=\"color:#666;font-size:small\">{}</p></body></html>",
        escape_html(footer)
    ));
    OutgoingMail {
        to: to.clone(),
        subject: subject.to_owned(),
        text,
        html,
    }
}

const FOOTER: &str = "If you did not ask for this, ignore this mail; nothing will change.";

pub fn verify_email(to: &Email, link: &str) -> OutgoingMail {
    mail(
        to,
        "Confirm your pointmint account",
        &["Welcome to pointmint. Confirm your e-mail address to start using your operator account. The link is valid for 48 hours."],
        Some(("Confirm my e-mail address", link)),
        FOOTER,
    )
}

pub fn account_exists(to: &Email, login_link: &str, reset_link: &str) -> OutgoingMail {
    mail(
        to,
        "You already have a pointmint account",
        &[
            "Someone (probably you) tried to create a pointmint account with this e-mail address, but it already has one.",
            &format!("Log in at {login_link}"),
            &format!("Forgot your password? Choose a new one at {reset_link}"),
        ],
        None,
        FOOTER,
    )
}

pub fn reset_password(to: &Email, link: &str) -> OutgoingMail {
    mail(
        to,
        "Reset your pointmint password",
        &["Someone asked to reset the password of your pointmint account. Choose a new password with this link; it is valid for one hour and works once."],
        Some(("Choose a new password", link)),
        FOOTER,
    )
}

pub fn invitation(
    to: &Email,
    store_name: &str,
    role: &str,
    inviter: &Email,
    link: &str,
) -> OutgoingMail {
    mail(
        to,
        &format!("You are invited to work on {store_name} at pointmint"),
        &[
            &format!("{inviter} invited you to the store \"{store_name}\" as {role}."),
            "Open the link to accept. If you have no pointmint account yet, create one with this e-mail address first, then open the link again. The invitation is valid for 7 days.",
        ],
        Some(("Accept the invitation", link)),
        FOOTER,
    )
}

pub fn wallet_sign_in(to: &Email, link: &str) -> OutgoingMail {
    mail(
        to,
        "Sign in to your pointmint wallet",
        &["Open this link to sign in to your points wallet. It is valid for 30 minutes and works once."],
        Some(("Sign in to my wallet", link)),
        FOOTER,
    )
}

pub fn wallet_welcome(to: &Email, store_name: &str, link: &str) -> OutgoingMail {
    mail(
        to,
        &format!("Your loyalty points from {store_name}"),
        &[
            &format!("{store_name} collects loyalty points for you at pointmint. Your points are yours: they live on the Metaverse blockchain in a wallet kept for you."),
            "Open your wallet with this link to see your points, send them to someone or move them to an address of your own. The link is valid for 7 days and works once; later, sign in with your e-mail address at the wallet page.",
        ],
        Some(("Open my wallet", link)),
        "You receive this mail because a store added you as a customer.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_carry_the_link_and_html_is_escaped() {
        let to = Email::parse("a@example.com").unwrap();
        let mail = invitation(
            &to,
            "Tom & <Jerry>",
            "staff",
            &to,
            "http://x/invite?token=abc",
        );
        assert!(mail.text.contains("\nhttp://x/invite?token=abc\n"));
        assert!(mail.html.contains("Tom &amp; &lt;Jerry&gt;"));
        assert!(!mail.html.contains("<Jerry>"));
    }
}
