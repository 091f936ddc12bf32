use leptos::prelude::*;
use leptos_meta::Title;

/// The start page: what pointmint is, where to go next, and a points calculator.
#[component]
pub fn Landing() -> impl IntoView {
    view! {
        <Title text="pointmint · loyalty points on the Metaverse chain"/>
        <section class="hero">
            <h1>"Loyalty points your customers really own"</h1>
            <p class="lead">
                "pointmint lets your shops issue their own loyalty points as tokens on the "
                "Metaverse (MVS) blockchain. Award and redeem them from your dashboard or your "
                "shop's back end; customers see and send them from their points wallet, and anyone "
                "can verify them on chain."
            </p>
            <nav class="cta" aria-label="Get started">
                <a class="button primary" href="/signup">"Create an operator account"</a>
                <a class="button" href="/login">"Log in"</a>
                <a class="button" href="/wallet">"Open my points wallet"</a>
            </nav>
        </section>
        <EarnCalculator/>
        <section class="features">
            <div>
                <h2>"For merchants"</h2>
                <p>"A dashboard for stores, point systems, customers and staff, with charts and CSV export."</p>
            </div>
            <div>
                <h2>"For shop developers"</h2>
                <p>"A REST API with idempotent writes and signed webhooks. " <a href="/api/docs">"API documentation"</a></p>
            </div>
            <div>
                <h2>"For customers"</h2>
                <p>"A wallet page reached by an e-mailed link: balances, history, sending points."</p>
            </div>
        </section>
    }
}

/// How many whole points an order earns at a given earn rate.
///
/// Points are credited in whole units, rounding down, as shops usually do.
pub fn points_earned(order_total: f64, points_per_unit: f64) -> u64 {
    if !(order_total.is_finite() && points_per_unit.is_finite())
        || order_total <= 0.0
        || points_per_unit <= 0.0
    {
        return 0;
    }
    (order_total * points_per_unit).floor() as u64
}

/// An interactive calculator: the first thing on the site that needs the wasm.
#[component]
fn EarnCalculator() -> impl IntoView {
    let (order_total, set_order_total) = signal(String::from("49.90"));
    let (rate, set_rate) = signal(String::from("10"));
    let earned = move || {
        let total = order_total
            .get()
            .trim()
            .replace(',', ".")
            .parse::<f64>()
            .unwrap_or(0.0);
        let rate = rate
            .get()
            .trim()
            .replace(',', ".")
            .parse::<f64>()
            .unwrap_or(0.0);
        points_earned(total, rate)
    };

    view! {
        <section class="calculator card" aria-labelledby="calc-title">
            <h2 id="calc-title">"What would an order earn?"</h2>
            <div class="row">
                <label>
                    "Order total"
                    <input
                        type="text"
                        inputmode="decimal"
                        name="order_total"
                        prop:value=order_total
                        on:input=move |ev| set_order_total.set(event_target_value(&ev))
                    />
                </label>
                <label>
                    "Points per currency unit"
                    <input
                        type="text"
                        inputmode="decimal"
                        name="earn_rate"
                        prop:value=rate
                        on:input=move |ev| set_rate.set(event_target_value(&ev))
                    />
                </label>
            </div>
            <p class="result" aria-live="polite">
                "This order earns " <strong data-testid="points-earned">{earned}</strong> " points."
            </p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::points_earned;

    #[test]
    fn rounds_down_to_whole_points() {
        assert_eq!(points_earned(49.90, 10.0), 499);
        assert_eq!(points_earned(0.99, 1.0), 0);
    }

    #[test]
    fn nonsense_earns_nothing() {
        assert_eq!(points_earned(-5.0, 10.0), 0);
        assert_eq!(points_earned(5.0, f64::NAN), 0);
        assert_eq!(points_earned(5.0, 0.0), 0);
    }
}
