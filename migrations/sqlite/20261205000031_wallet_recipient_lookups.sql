-- Every time a signed-in wallet customer looks up an e-mail recipient (the review and the
-- confirm of a send), so the lookups can be limited per customer: an unknown address is
-- refused as such, which would otherwise let a customer test any number of addresses.
CREATE TABLE wallet_recipient_lookups (
    id            INTEGER PRIMARY KEY,
    customer_id   BIGINT  NOT NULL,
    looked_up_at  BIGINT  NOT NULL
);
CREATE INDEX wallet_recipient_lookups_customer ON wallet_recipient_lookups (customer_id, looked_up_at);
