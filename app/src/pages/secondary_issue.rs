//! The "issue more points" form of the point-system page (shown to managers and owners
//! once the point system is confirmed and its policy allows a secondary issue).

use leptos::prelude::*;

use super::forms::{form_error, FieldError, FormError, Notice};
use crate::server_fns::secondary_issue::IssueMorePoints;

/// The form, or a line saying why there is none. `request_id` comes with the page data
/// (made on the server): a double submit sends it twice and issues once.
#[component]
pub fn SecondaryIssueForm(
    store_id: i64,
    threshold: u8,
    action: ServerAction<IssueMorePoints>,
    request_id: String,
) -> impl IntoView {
    let error = form_error(action);
    if threshold == 0 {
        return view! {
            <p data-testid="secondary-issue-fixed">"The supply is fixed: this point system was issued without secondary issue."</p>
            <FieldError error field="amount"/>
        }
        .into_any();
    }
    view! {
        <h2>"Issue more points"</h2>
        <Notice flag="issued">"More points are being issued into the treasury; they count once the chain confirms them."</Notice>
        <ActionForm action=action attr:data-testid="secondary-issue-form">
            <FormError error/>
            <input type="hidden" name="store_id" value=store_id/>
            <input type="hidden" name="request_id" value=request_id/>
            <label>"Amount (in the smallest unit)" <input type="number" name="amount" min="1" required/></label>
            <FieldError error field="amount"/>
            <label>"Reason (optional)" <input type="text" name="reason" maxlength="500"/></label>
            <FieldError error field="reason"/>
            <button type="submit" class="primary">"Issue more points"</button>
        </ActionForm>
    }
    .into_any()
}
