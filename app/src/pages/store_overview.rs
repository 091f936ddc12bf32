use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::{
    chart::{self, date_label, Point, Style},
    forms::{page_error, AccountBar},
};
use crate::{
    errors::AppError,
    server_fns::store_overview::{
        store_overview, DayView, FeeWalletPanel, StoreOverviewView, CHART_DAYS,
    },
};

/// `/dashboard/stores/{id}`: the store's totals, charts of points issued, redeemed and
/// outstanding per day (server-rendered SVG with a data table), and the fee wallet.
#[component]
pub fn StoreOverviewPage() -> impl IntoView {
    let params = use_params_map();
    let data = Resource::new(
        move || {
            params
                .with(|p| p.get("id"))
                .and_then(|id| id.parse::<i64>().ok())
        },
        |store_id| async move {
            match store_id {
                Some(id) => store_overview(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <Title text="Store overview · pointmint"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(error) => page_error(error),
                    Ok(view) => overview_view(view),
                }
            })}
        </Suspense>
    }
}

/// One chart's SVG with a description that says what a screen reader needs.
fn series_chart(
    id: &str,
    what: &str,
    style: Style,
    days: &[DayView],
    value: fn(&DayView) -> u64,
) -> String {
    let points: Vec<Point> = days
        .iter()
        .map(|d| Point {
            label: date_label(d.day),
            value: value(d),
        })
        .collect();
    let (first, last) = match (points.first(), points.last()) {
        (Some(f), Some(l)) => (f.label.clone(), l.label.clone()),
        _ => (String::new(), String::new()),
    };
    let highest = points.iter().max_by_key(|p| p.value);
    let desc = match highest {
        Some(h) if h.value > 0 => format!(
            "{what} per day from {first} to {last}; highest {} on {}. The table below lists every day.",
            h.value, h.label
        ),
        _ => format!("{what} per day from {first} to {last}: none."),
    };
    chart::render(id, &format!("{what} per day"), &desc, style, &points)
}

fn fee_wallet_view(panel: FeeWalletPanel) -> AnyView {
    match panel {
        FeeWalletPanel::Known { address, balance_etp, outputs, low, low_below_etp } => view! {
            <dl class="balance">
                <dt>"Address"</dt><dd><code>{address}</code></dd>
                <dt>"Balance"</dt><dd data-testid="fee-wallet-balance">{balance_etp} " ETP"</dd>
                <dt>"Unspent outputs"</dt><dd data-testid="fee-wallet-outputs">{outputs}</dd>
            </dl>
            {low.then(|| view! {
                <p class="form-error" role="alert" data-testid="fee-wallet-low">
                    {format!("The fee wallet is low (below {low_below_etp} ETP): fund it with ETP, or point systems cannot be issued and transfers stop.")}
                </p>
            })}
        }
        .into_any(),
        FeeWalletPanel::Missing => view! {
            <p data-testid="fee-wallet-unavailable">"The fee wallet has not been created yet; it is created when the server starts with its database."</p>
        }
        .into_any(),
        FeeWalletPanel::NodeUnreachable => view! {
            <p role="status" data-testid="fee-wallet-unavailable">"The chain node does not answer right now, so the fee wallet's balance is unknown. The rest of this page is up to date."</p>
        }
        .into_any(),
    }
}

fn overview_view(data: StoreOverviewView) -> AnyView {
    let store_id = data.store.id;
    let unit = data.symbol.clone().unwrap_or_else(|| "points".to_owned());
    let issued = series_chart("issued", "Points issued", Style::Bars, &data.days, |d| {
        d.issued
    });
    let redeemed = series_chart(
        "redeemed",
        "Points redeemed",
        Style::Bars,
        &data.days,
        |d| d.redeemed,
    );
    let outstanding = series_chart(
        "outstanding",
        "Points outstanding",
        Style::Line,
        &data.days,
        |d| d.outstanding,
    );
    let link = move |path: &str| format!("/dashboard/stores/{store_id}/{path}");
    view! {
        <AccountBar email=data.me.email.clone()/>
        <section class="page">
            <p>
                <a href="/dashboard">"← Your stores"</a> " · "
                <a href=link("points")>"Points"</a> " · "
                <a href=link("customers")>"Customers"</a> " · "
                <a href=link("operations")>"Operations"</a> " · "
                <a href=link("staff")>"Staff"</a> " · "
                <a href=link("settings")>"Settings"</a>
                // Keys and webhooks are for managers and owners (staff would get 403 there).
                {(data.store.role >= crate::models::Role::Manager).then(|| view! {
                    " · " <a href=link("api-keys")>"API keys"</a>
                    " · " <a href=link("webhooks")>"Webhooks"</a>
                })}
            </p>
            <h1>{data.store.name.clone()}</h1>
            <h2>"Totals"</h2>
            <p class="hint">"Confirmed operations only. Issued: points the store gave customers; redeemed: points it took back; outstanding: what customers hold."</p>
            <dl class="balance" data-testid="store-totals">
                <dt>"Issued"</dt><dd data-testid="total-issued">{data.issued} " " {unit.clone()}</dd>
                <dt>"Redeemed"</dt><dd data-testid="total-redeemed">{data.redeemed} " " {unit.clone()}</dd>
                <dt>"Outstanding"</dt><dd data-testid="total-outstanding">{data.outstanding} " " {unit.clone()}</dd>
                <dt>"Customers"</dt><dd data-testid="total-customers">{data.customers}</dd>
            </dl>
            <h2>{format!("The last {CHART_DAYS} days (UTC)")}</h2>
            <figure class="chart"><figcaption>"Points issued per day"</figcaption><div inner_html=issued></div></figure>
            <figure class="chart"><figcaption>"Points redeemed per day"</figcaption><div inner_html=redeemed></div></figure>
            <figure class="chart"><figcaption>"Points outstanding at the end of each day"</figcaption><div inner_html=outstanding></div></figure>
            <table class="visually-hidden" data-testid="chart-data">
                <caption>"Points issued, redeemed and outstanding per day"</caption>
                <thead><tr><th scope="col">"Day"</th><th scope="col">"Issued"</th><th scope="col">"Redeemed"</th><th scope="col">"Outstanding"</th></tr></thead>
                <tbody>
                    {data.days.iter().map(|d| view! {
                        <tr data-day=date_label(d.day)>
                            <th scope="row">{date_label(d.day)}</th>
                            <td data-series="issued">{d.issued}</td>
                            <td data-series="redeemed">{d.redeemed}</td>
                            <td data-series="outstanding">{d.outstanding}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <h2>"Platform fee wallet"</h2>
            <section data-testid="fee-wallet" aria-live="polite">
                <p class="hint">"Pays the chain fees of every store's transactions."</p>
                {fee_wallet_view(data.fee_wallet)}
            </section>
        </section>
    }
    .into_any()
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    fn known(low: bool) -> FeeWalletPanel {
        FeeWalletPanel::Known {
            address: "tAddress".into(),
            balance_etp: "0.50000000".into(),
            outputs: 3,
            low,
            low_below_etp: "22.00000000".into(),
        }
    }

    #[test]
    fn a_low_fee_wallet_is_flagged_and_an_unreachable_node_is_said() {
        let owner = Owner::new();
        owner.with(|| {
            let html = fee_wallet_view(known(true)).to_html();
            assert!(
                html.contains("fee-wallet-low") && html.contains("below 22.00000000 ETP"),
                "{html}"
            );
            assert!(
                html.contains("0.50000000") && html.contains(">3<"),
                "{html}"
            );
            let html = fee_wallet_view(known(false)).to_html();
            assert!(!html.contains("fee-wallet-low"), "{html}");
            let html = fee_wallet_view(FeeWalletPanel::NodeUnreachable).to_html();
            assert!(html.contains("does not answer"), "{html}");
        });
    }
}
