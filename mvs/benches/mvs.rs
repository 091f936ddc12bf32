//! Throughput of encoding, signing, verification and development-chain block application.
//! Run with `cargo bench -p mvs`. A plain harness keeps the build light (no criterion).

use std::hint::black_box;
use std::time::{Duration, Instant};

use mvs::attachment::Attachment;
use mvs::builder::{MstTransfer, Recipient, Spendable};
use mvs::consensus::{COIN, MIN_TX_FEE};
use mvs::devnet::chain::{genesis_block, Chain};
use mvs::encoding::{Decode, Encode};
use mvs::keys::PrivateKey;
use mvs::sign::{sign_input, verify_transaction};
use mvs::tx::{Input, OutPoint, Output, Transaction, TX_VERSION};
use mvs::Network;

const VECTOR_RAW: &str = "04000000026a1191b11cfb441276a044435c5d2ac24a2eacc62c5a534741a55388853552b5020000006a47304402203a47d77e29ee40c554829d2912a12f22a3061c3c690a48a11174902f93a82217022042e5fada51ed4cbe4f4cfb6345434dcb4efe4ccab8682441fce3bbf2d51e228f01210320e8cee427771928544054986e9dc14f2a9d0bb7aea0ffcdb382023475b5bdbcffffffff4687f930c4bda4a85c3779b141d6ebcb01e4fc556914632274edacd9a569463d000000006b48304502210092ac2e37a177d71b8da0562c19b33fb7b96498741afeee5cae9050c43bada4040220526fca36451b5a1aa3dc915afe8160fb645b10fb7505ccb214328053cb14ce34012103f21c35fc40a7525550352a2d9212d04241f26bab32986fa9a0f91425045a228dffffffff0700000000000000001976a91448b6adc8508180d58d2efe4a6068e7934fdf8b3088ac0100000002000000020000000b53484f502e504f494e54530a0000000000000000000000000000001976a9146dd73fcd01b89a02d3f9b762ead78a9c212870d688ac0100000002000000020000000b53484f502e504f494e5453140000000000000000000000000000001976a91448b6adc8508180d58d2efe4a6068e7934fdf8b3088ac0100000002000000020000000b53484f502e504f494e54531e0000000000000000000000000000001976a9146dd73fcd01b89a02d3f9b762ead78a9c212870d688ac0100000002000000020000000b53484f502e504f494e5453280000000000000000000000000000001976a91448b6adc8508180d58d2efe4a6068e7934fdf8b3088ac0100000002000000020000000b53484f502e504f494e5453320000000000000000000000000000001976a914658351902a6bf8f6a60fc274e237af4edbcad49488ac0100000002000000020000000b53484f502e504f494e5453aa410f000000000070c9fa02000000001976a9140c9c9a42df0a7036a9e1ddc5a4473c00c2f5816d88ac010000000000000000000000";

/// Runs `f` repeatedly for about `budget`, returning operations per second.
fn rate(budget: Duration, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        f();
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn report(name: &str, per_second: f64, unit: &str) {
    println!("{name:<44} {per_second:>12.0} {unit}/s");
}

fn main() {
    let budget = Duration::from_secs(2);
    let tx = Transaction::decode_hex(VECTOR_RAW).unwrap();
    report(
        "encode (2-in 7-out MST award)",
        rate(budget, || {
            black_box(black_box(&tx).encode());
        }),
        "tx",
    );
    let raw = tx.encode();
    report(
        "decode (2-in 7-out MST award)",
        rate(budget, || {
            black_box(Transaction::decode(black_box(&raw)).unwrap());
        }),
        "tx",
    );
    report(
        "txid",
        rate(budget, || {
            black_box(black_box(&tx).txid());
        }),
        "tx",
    );

    let key = PrivateKey::generate(Network::Testnet);
    let spent = Output {
        value: COIN,
        script_pubkey: key.address().script_pubkey(),
        attachment: Attachment::etp(),
    };
    let mut unsigned = tx.clone();
    for i in &mut unsigned.inputs {
        i.script = Default::default();
    }
    report(
        "sign input (SIGHASH_ALL + ECDSA)",
        rate(budget, || {
            let mut t = unsigned.clone();
            sign_input(&mut t, 0, &key, &spent.script_pubkey).unwrap();
            black_box(t);
        }),
        "input",
    );
    let mut signed = unsigned.clone();
    sign_input(&mut signed, 0, &key, &spent.script_pubkey).unwrap();
    sign_input(&mut signed, 1, &key, &spent.script_pubkey).unwrap();
    let verify_rate = rate(budget, || {
        verify_transaction(black_box(&signed), &[&spent, &spent]).unwrap()
    });
    report("verify transaction (2 inputs)", verify_rate * 2.0, "input");

    devnet_throughput();
}

/// Fills a pool with award transactions (10 outputs each), then produces one block.
fn devnet_throughput() {
    const TXS: usize = 2_000;
    const OUTPUTS: usize = 10;
    let fee = PrivateKey::generate(Network::Testnet);
    let mut chain = Chain::new(
        Network::Testnet,
        genesis_block(Some(&fee.address()), 100_000 * COIN, 1),
    )
    .unwrap();

    // Split the genesis output into one fee output per benchmark transaction.
    let genesis_cb = chain.block_at(0).unwrap().0.transactions[0].clone();
    let genesis_out = genesis_cb.outputs[0].clone();
    let mut split = Transaction {
        version: TX_VERSION,
        inputs: vec![Input::unsigned(OutPoint::new(genesis_cb.txid(), 0))],
        outputs: (0..TXS)
            .map(|_| Output {
                value: COIN,
                script_pubkey: fee.address().script_pubkey(),
                attachment: Attachment::etp(),
            })
            .collect(),
        lock_time: 0,
    };
    split.outputs.push(Output {
        value: genesis_out.value - TXS as u64 * COIN - MIN_TX_FEE,
        script_pubkey: fee.address().script_pubkey(),
        attachment: Attachment::etp(),
    });
    sign_input(&mut split, 0, &fee, &genesis_out.script_pubkey).unwrap();
    let split_id = chain.submit(split.clone()).unwrap();
    chain.mine(2);

    let customers: Vec<PrivateKey> = (0..OUTPUTS)
        .map(|_| PrivateKey::generate(Network::Testnet))
        .collect();
    let build_start = Instant::now();
    let txs: Vec<Transaction> = (0..TXS)
        .map(|i| {
            // ETP "awards": the same layout as an MST transfer, without needing an issued asset.
            let input = Spendable {
                outpoint: OutPoint::new(split_id, i as u32),
                output: split.outputs[i].clone(),
                key: fee.clone(),
            };
            let mut tx = Transaction {
                version: TX_VERSION,
                inputs: vec![Input::unsigned(input.outpoint)],
                outputs: customers
                    .iter()
                    .map(|c| Output {
                        value: 1_000,
                        script_pubkey: c.address().script_pubkey(),
                        attachment: Attachment::etp(),
                    })
                    .chain(std::iter::once(Output {
                        value: COIN - 1_000 * OUTPUTS as u64 - MIN_TX_FEE,
                        script_pubkey: fee.address().script_pubkey(),
                        attachment: Attachment::etp(),
                    }))
                    .collect(),
                lock_time: 0,
            };
            sign_input(&mut tx, 0, &input.key, &input.output.script_pubkey).unwrap();
            tx
        })
        .collect();
    let built = build_start.elapsed();
    report(
        "build+sign 11-output tx",
        TXS as f64 / built.as_secs_f64(),
        "tx",
    );

    let submit_start = Instant::now();
    for tx in &txs {
        chain.submit(tx.clone()).unwrap();
    }
    let submitted = submit_start.elapsed();
    let outs = (OUTPUTS + 1) as f64;
    report(
        "devnet sendrawtx validation (with sigs)",
        TXS as f64 / submitted.as_secs_f64(),
        "tx",
    );
    report(
        "  = outputs accepted",
        TXS as f64 * outs / submitted.as_secs_f64(),
        "output",
    );

    let mine_start = Instant::now();
    let block_txs = chain.mine(3).transactions.len();
    let mined = mine_start.elapsed();
    assert_eq!(block_txs, TXS + 1);
    report(
        "devnet block application",
        TXS as f64 / mined.as_secs_f64(),
        "tx",
    );
    report(
        "  = outputs applied",
        TXS as f64 * outs / mined.as_secs_f64(),
        "output",
    );

    // Bonus sanity check of the MST builder on the same machine.
    let holder = PrivateKey::generate(Network::Testnet);
    let asset_in = Spendable {
        outpoint: OutPoint::new(split_id, 0),
        output: Output {
            value: 0,
            script_pubkey: holder.address().script_pubkey(),
            attachment: Attachment::plain(mvs::attachment::AttachmentBody::AssetTransfer(
                mvs::attachment::AssetTransfer {
                    symbol: "BENCH.X".into(),
                    quantity: 1_000_000,
                },
            )),
        },
        key: holder.clone(),
    };
    let fee_in = Spendable {
        outpoint: OutPoint::new(split_id, 1),
        output: split.outputs[1].clone(),
        key: fee.clone(),
    };
    let transfer = MstTransfer {
        network: Network::Testnet,
        symbol: "BENCH.X".into(),
        asset_inputs: vec![asset_in],
        recipients: customers
            .iter()
            .map(|c| Recipient::address(c.address(), 10))
            .collect(),
        asset_change: holder.address(),
        fee_inputs: vec![fee_in],
        fee_change: fee.address(),
        fee: MIN_TX_FEE,
    };
    report(
        "MstTransfer::build (2 inputs, 12 outputs)",
        rate(Duration::from_secs(2), || {
            black_box(transfer.build().unwrap());
        }),
        "tx",
    );
}
