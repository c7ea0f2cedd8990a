// SPDX-License-Identifier: GPL-2.0-or-later

/// The API's contract: the OpenAPI 3.1 document served at `GET /openapi.yaml`.
/// Every route of `APIRouter` is described here; `integration/api/run.sh` runs schemathesis
/// against a live daemon with it.
public enum OpenAPIDocument {
    public static let yaml = #"""
        openapi: 3.1.0
        info:
          title: sipwarden control plane
          version: 1.0.0
          description: |
            The HTTP API of a running sipwarden daemon (docs/CONTROL-PLANE.md). It listens on a
            Unix socket in the state directory (mode 0600, root only) and, when configured, on
            TCP. Requests that change state need `Authorization: Bearer TOKEN` (the token is in
            the state directory's `api.token`); on TCP every request needs it.
          license:
            name: GPL-2.0-or-later
            identifier: GPL-2.0-or-later
        servers:
          - url: http://localhost
        security:
          - {}
          - bearer: []
        paths:
          /v1/health:
            get:
              operationId: health
              summary: The daemon answers.
              responses:
                '200':
                  description: Alive.
                  content:
                    application/json:
                      schema: { $ref: '#/components/schemas/Health' }
                '401': { $ref: '#/components/responses/Unauthorized' }
          /v1/ready:
            get:
              operationId: ready
              summary: The daemon has reconciled the kernel with the ledger and reads its sources.
              responses:
                '200':
                  description: Ready.
                  content:
                    application/json:
                      schema: { $ref: '#/components/schemas/Health' }
                '401': { $ref: '#/components/responses/Unauthorized' }
                '503':
                  description: Still starting.
                  content:
                    application/json:
                      schema: { $ref: '#/components/schemas/Health' }
          /v1/status:
            get:
              operationId: status
              summary: The daemon, the ledger and the kernel at a glance (what `sipwarden status` shows).
              responses:
                '200':
                  description: Status.
                  content:
                    application/json:
                      schema: { $ref: '#/components/schemas/Status' }
                '401': { $ref: '#/components/responses/Unauthorized' }
                '500': { $ref: '#/components/responses/Error' }
          /v1/bans:
            get:
              operationId: listBans
              summary: Bans in force, newest first (with all=true also expired and lifted ones).
              parameters:
                - name: all
                  in: query
                  required: false
                  schema: { type: boolean, default: false }
                - name: limit
                  in: query
                  required: false
                  schema: { type: integer, minimum: 1, maximum: 100000, default: 1000 }
              responses:
                '200':
                  description: The bans.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [bans]
                        additionalProperties: false
                        properties:
                          bans:
                            type: array
                            items: { $ref: '#/components/schemas/Ban' }
                '400': { $ref: '#/components/responses/BadRequest' }
                '401': { $ref: '#/components/responses/Unauthorized' }
                '500': { $ref: '#/components/responses/Error' }
            post:
              operationId: addBan
              summary: Ban an address or prefix by hand (kernel first, then the ledger, then the detector).
              security:
                - bearer: []
              requestBody:
                required: true
                content:
                  application/json:
                    schema: { $ref: '#/components/schemas/BanRequest' }
              responses:
                '201':
                  description: Banned (in the kernel and the ledger).
                  content:
                    application/json:
                      schema: { $ref: '#/components/schemas/Ban' }
                '400': { $ref: '#/components/responses/BadRequest' }
                '401': { $ref: '#/components/responses/Unauthorized' }
                '409':
                  description: The network is inside the allowlist.
                  content:
                    application/json:
                      schema: { $ref: '#/components/schemas/Error' }
                '500': { $ref: '#/components/responses/Error' }
            delete:
              operationId: liftBan
              summary: Lift every ban of exactly this network (kernel and ledger).
              security:
                - bearer: []
              parameters:
                - name: network
                  in: query
                  required: true
                  description: Address or CIDR prefix with clear host bits, e.g. 198.18.7.0/24 or 2001:2::66.
                  schema: { type: string }
              responses:
                '200':
                  description: Lifted (lifted = 0 when it was not banned).
                  content:
                    application/json:
                      schema: { $ref: '#/components/schemas/LiftResult' }
                '400': { $ref: '#/components/responses/BadRequest' }
                '401': { $ref: '#/components/responses/Unauthorized' }
                '500': { $ref: '#/components/responses/Error' }
          /v1/feed/bans.txt:
            get:
              operationId: feedText
              summary: The active bans as a plain list, one address or CIDR per line after a '#' comment line (a feed for other servers).
              parameters:
                - $ref: '#/components/parameters/IncludeFeeds'
              responses:
                '200':
                  description: The list.
                  content:
                    text/plain:
                      schema: { type: string }
                '400': { $ref: '#/components/responses/BadRequest' }
                '401': { $ref: '#/components/responses/Unauthorized' }
                '500': { $ref: '#/components/responses/Error' }
          /v1/feed/bans.json:
            get:
              operationId: feedJSON
              summary: The active bans as JSON, oldest first (no evidence, no attacker text).
              parameters:
                - $ref: '#/components/parameters/IncludeFeeds'
              responses:
                '200':
                  description: The list.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [count, bans]
                        additionalProperties: false
                        properties:
                          count: { type: integer, minimum: 0 }
                          bans:
                            type: array
                            items:
                              type: object
                              required: [network, origin, kind, created]
                              additionalProperties: false
                              properties:
                                network: { type: string }
                                origin: { type: string, enum: [detector, manual, feed, provider_policy, fleet] }
                                kind: { type: string }
                                created: { type: string }
                                expires: { type: string }
                '400': { $ref: '#/components/responses/BadRequest' }
                '401': { $ref: '#/components/responses/Unauthorized' }
                '500': { $ref: '#/components/responses/Error' }
          /v1/feed/apiban/banned:
            get:
              operationId: feedAPIBANFirst
              summary: APIBAN-compatible answer, first page (up to 250 addresses and the ID to ask from next).
              parameters:
                - $ref: '#/components/parameters/IncludeFeeds'
              responses:
                '200': { $ref: '#/components/responses/APIBANPage' }
                '400': { $ref: '#/components/responses/APIBANEnd' }
                '401': { $ref: '#/components/responses/Unauthorized' }
                '500': { $ref: '#/components/responses/Error' }
          /v1/feed/apiban/banned/{id}:
            get:
              operationId: feedAPIBANAfter
              summary: APIBAN-compatible answer, the addresses banned after ID (any ID below 1000000000, such as APIBAN clients' first 100, means from the start).
              parameters:
                - name: id
                  in: path
                  required: true
                  schema: { type: string, pattern: '^[0-9]{1,18}$' }
                - $ref: '#/components/parameters/IncludeFeeds'
              responses:
                '200': { $ref: '#/components/responses/APIBANPage' }
                '400': { $ref: '#/components/responses/APIBANEnd' }
                '404':
                  description: No such route (an empty ID).
                '401': { $ref: '#/components/responses/Unauthorized' }
                '500': { $ref: '#/components/responses/Error' }
          /v1/ranges:
            get:
              operationId: listRangeBlocks
              summary: Range blocks in force (providers, AS numbers, named lists, CIDR files; docs/RANGES.md).
              responses:
                '200':
                  description: The blocks.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [blocks]
                        additionalProperties: false
                        properties:
                          blocks:
                            type: array
                            items: { $ref: '#/components/schemas/RangeBlock' }
                '401': { $ref: '#/components/responses/Unauthorized' }
                '404': { $ref: '#/components/responses/RangesDisabled' }
                '500': { $ref: '#/components/responses/Error' }
            post:
              operationId: blockRanges
              summary: Block every range of a selector (one kernel transaction; the allowlist is carved out).
              security:
                - bearer: []
              requestBody:
                required: true
                content:
                  application/json:
                    schema: { $ref: '#/components/schemas/RangeBlockRequest' }
              responses:
                '201':
                  description: Blocked (in the kernel and the state file).
                  content:
                    application/json:
                      schema: { $ref: '#/components/schemas/RangeBlock' }
                '400': { $ref: '#/components/responses/BadRequest' }
                '401': { $ref: '#/components/responses/Unauthorized' }
                '404': { $ref: '#/components/responses/RangesDisabled' }
                '409':
                  description: Nothing is left to block (allowlisted, or every prefix shorter than the minimum).
                  content:
                    application/json:
                      schema: { $ref: '#/components/schemas/Error' }
                '500': { $ref: '#/components/responses/Error' }
            delete:
              operationId: unblockRanges
              summary: Lift the block of a selector.
              security:
                - bearer: []
              parameters:
                - name: selector
                  in: query
                  required: true
                  schema: { type: string, minLength: 1, maxLength: 4096 }
              responses:
                '200':
                  description: Lifted (lifted = false when there was no such block).
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [selector, lifted]
                        additionalProperties: false
                        properties:
                          selector: { type: string }
                          lifted: { type: boolean }
                '400': { $ref: '#/components/responses/BadRequest' }
                '401': { $ref: '#/components/responses/Unauthorized' }
                '404': { $ref: '#/components/responses/RangesDisabled' }
                '500': { $ref: '#/components/responses/Error' }
          /v1/cases:
            get:
              operationId: listCases
              summary: Abuse cases, most recently changed first (docs/ABUSE.md); closed ones only with all=true or state=closed.
              parameters:
                - name: state
                  in: query
                  required: false
                  description: Only the cases in this state (then `all` does not matter).
                  schema: { $ref: '#/components/schemas/CaseState' }
                - name: all
                  in: query
                  required: false
                  description: Closed cases too.
                  schema: { type: boolean, default: false }
                - name: limit
                  in: query
                  required: false
                  schema: { type: integer, minimum: 1, maximum: 100000, default: 1000 }
              responses:
                '200':
                  description: The cases (without history, messages and outbox).
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [cases]
                        additionalProperties: false
                        properties:
                          cases:
                            type: array
                            items: { $ref: '#/components/schemas/Case' }
                '400': { $ref: '#/components/responses/BadRequest' }
                '401': { $ref: '#/components/responses/Unauthorized' }
                '404': { $ref: '#/components/responses/CasesDisabled' }
                '500': { $ref: '#/components/responses/Error' }
          /v1/cases/{id}:
            get:
              operationId: showCase
              summary: One case with its history, the messages in and out, and its outbox (what `sipwarden cases show --json` prints).
              parameters:
                - $ref: '#/components/parameters/CaseID'
              responses:
                '200':
                  description: The case.
                  content:
                    application/json:
                      schema: { $ref: '#/components/schemas/CaseDetail' }
                '400': { $ref: '#/components/responses/BadRequest' }
                '401': { $ref: '#/components/responses/Unauthorized' }
                '404': { $ref: '#/components/responses/NoCase' }
                '500': { $ref: '#/components/responses/Error' }
          /v1/cases/{id}/approve:
            post:
              operationId: approveCase
              summary: What `sipwarden cases approve` does - the case's reports held for review leave, or the escalation step waiting for approval is taken.
              security:
                - bearer: []
              parameters:
                - $ref: '#/components/parameters/CaseID'
              responses:
                '200':
                  description: Approved (released = 0 and no escalation when nothing was waiting).
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [case, released]
                        additionalProperties: false
                        properties:
                          case: { $ref: '#/components/schemas/CaseDetail' }
                          released: { type: integer, minimum: 0, description: Reports released from review. }
                          escalation: { type: string, enum: [next-contact, national-cert, law-enforcement], description: The escalation step taken. }
                '400': { $ref: '#/components/responses/BadRequest' }
                '401': { $ref: '#/components/responses/Unauthorized' }
                '404': { $ref: '#/components/responses/NoCase' }
                '500': { $ref: '#/components/responses/Error' }
          /v1/cases/{id}/close:
            post:
              operationId: closeCase
              summary: Close a case (nothing more is sent or escalated for it).
              security:
                - bearer: []
              parameters:
                - $ref: '#/components/parameters/CaseID'
              requestBody:
                required: false
                content:
                  application/json:
                    schema:
                      type: object
                      properties:
                        reason: { type: string, maxLength: 1000, description: 'Kept in its history; default "closed by the operator".' }
              responses:
                '200':
                  description: Closed (closing a closed case changes nothing).
                  content:
                    application/json:
                      schema: { $ref: '#/components/schemas/CaseDetail' }
                '400': { $ref: '#/components/responses/BadRequest' }
                '401': { $ref: '#/components/responses/Unauthorized' }
                '404': { $ref: '#/components/responses/NoCase' }
                '500': { $ref: '#/components/responses/Error' }
          /v1/providers:
            get:
              operationId: providers
              summary: The provider scorecard, one row per network (AS, or organisation without one), as `sipwarden providers --json`.
              responses:
                '200':
                  description: The rows, least responsive first.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [providers]
                        additionalProperties: false
                        properties:
                          providers:
                            type: array
                            items: { $ref: '#/components/schemas/ProviderScore' }
                '401': { $ref: '#/components/responses/Unauthorized' }
                '404': { $ref: '#/components/responses/CasesDisabled' }
                '500': { $ref: '#/components/responses/Error' }
          /metrics:
            get:
              operationId: metrics
              summary: Prometheus text exposition (format 0.0.4).
              responses:
                '200':
                  description: The metrics.
                  content:
                    text/plain:
                      schema: { type: string }
                '401': { $ref: '#/components/responses/Unauthorized' }
                '404':
                  description: This daemon serves no metrics.
                  content:
                    application/json:
                      schema: { $ref: '#/components/schemas/Error' }
          /openapi.yaml:
            get:
              operationId: openapi
              summary: This document.
              responses:
                '200':
                  description: The OpenAPI 3.1 document.
                  content:
                    application/yaml:
                      schema: { type: string }
                '401': { $ref: '#/components/responses/Unauthorized' }
        components:
          parameters:
            IncludeFeeds:
              name: include_feeds
              in: query
              required: false
              description: Also publish bans that came from subscribed feeds (left out by default, so two servers subscribed to each other do not loop).
              schema: { type: boolean, default: false }
            CaseID:
              name: id
              in: path
              required: true
              description: The case's UUID (`sipwarden cases list` shows them).
              schema: { type: string, format: uuid }
          securitySchemes:
            bearer:
              type: http
              scheme: bearer
              description: The contents of STATE/api.token (64 hex digits).
          responses:
            APIBANPage:
              description: Addresses and the next ID (APIBAN's shape).
              content:
                application/json:
                  schema:
                    type: object
                    required: [ipaddress, ID]
                    additionalProperties: false
                    properties:
                      ipaddress: { type: array, items: { type: string } }
                      ID: { type: string }
            APIBANEnd:
              description: No address after this ID (APIBAN's end of list, ID "none"), or an ID or include_feeds that is not valid (then an error object).
              content:
                application/json:
                  schema:
                    oneOf:
                      - type: object
                        required: [ipaddress, ID]
                        additionalProperties: false
                        properties:
                          ipaddress: { type: array, items: { type: string } }
                          ID: { type: string, const: none }
                      - $ref: '#/components/schemas/Error'
            Unauthorized:
              description: The bearer token is missing or wrong; nothing was changed.
              headers:
                WWW-Authenticate:
                  schema: { type: string }
              content:
                application/json:
                  schema: { $ref: '#/components/schemas/Error' }
            BadRequest:
              description: The request is malformed (the message says which field).
              content:
                application/json:
                  schema: { $ref: '#/components/schemas/Error' }
            Error:
              description: The kernel or the ledger failed.
              content:
                application/json:
                  schema: { $ref: '#/components/schemas/Error' }
            CasesDisabled:
              description: This daemon runs without the case service (no abuse section in its configuration).
              content:
                application/json:
                  schema: { $ref: '#/components/schemas/Error' }
            NoCase:
              description: No such case, or this daemon runs without the case service (the message says which).
              content:
                application/json:
                  schema: { $ref: '#/components/schemas/Error' }
            RangesDisabled:
              description: This daemon runs without range blocks.
              content:
                application/json:
                  schema: { $ref: '#/components/schemas/Error' }
          schemas:
            Error:
              type: object
              required: [error]
              additionalProperties: false
              properties:
                error: { type: string }
            Health:
              type: object
              required: [status]
              additionalProperties: false
              properties:
                status: { type: string, enum: [ok, ready, starting] }
            BanRequest:
              type: object
              required: [network]
              properties:
                network:
                  type: string
                  description: Address or CIDR prefix with clear host bits.
                  examples: ['198.18.7.0/24', '2001:2::66']
                ban_seconds:
                  description: Ban length in seconds; absent or null for a permanent ban.
                  type: [integer, 'null']
                  minimum: 1
                  maximum: 315360000
                reason:
                  type: string
                  maxLength: 1000
                  description: Why (stored in the ledger); default "manual".
            Ban:
              type: object
              required: [network, kind, reason, origin, offence, created]
              additionalProperties: false
              properties:
                id: { type: integer, description: The ledger's row id. }
                network: { type: string }
                kind: { type: string, description: 'The rule: failures, enumeration, scanner, flood, manual, …' }
                reason: { type: string }
                origin: { type: string, enum: [detector, manual, feed, provider_policy, fleet], description: Who decided. }
                offence: { type: integer, minimum: 1 }
                created: { type: string, format: date-time }
                expires: { type: string, format: date-time, description: Absent for a permanent ban. }
                lifted: { type: string, format: date-time, description: When an operator lifted it. }
                in_kernel: { type: boolean, description: Whether the kernel set holds it now (absent with the dry-run firewall). }
                ban_id: { type: string, format: uuid, description: 'The ban''s stable identity, made with the verdict.' }
                asn: { type: integer, minimum: 0, description: 'Origin AS of the network when it was banned (the intelligence store''s answer then).' }
                as_name: { type: string }
                country: { type: string, description: ISO 3166 alpha-2. }
                prefix: { type: string, description: The announced prefix around the address. }
                provider: { type: string, description: 'Cloud provider (aws, gcp, azure, oracle, …) where it publishes its ranges.' }
                service: { type: string }
                region: { type: string }
            LiftResult:
              type: object
              required: [network, lifted]
              additionalProperties: false
              properties:
                network: { type: string }
                lifted: { type: integer, minimum: 0, description: Ledger entries lifted. }
            Status:
              type: object
              required: [pid, version, state_directory, ledger, firewall, unmatched, unmatched_as_of]
              additionalProperties: false
              properties:
                pid: { type: integer }
                version: { type: string }
                state_directory: { type: string }
                ledger:
                  type: object
                  required: [active_bans, permanent_active_bans, total_bans, lifted_bans, events_stored]
                  additionalProperties: false
                  properties:
                    active_bans: { type: integer, minimum: 0 }
                    permanent_active_bans: { type: integer, minimum: 0 }
                    total_bans: { type: integer, minimum: 0 }
                    lifted_bans: { type: integer, minimum: 0 }
                    events_stored: { type: integer, minimum: 0 }
                    last_ban: { type: string, format: date-time }
                firewall:
                  type: object
                  required: [kind]
                  additionalProperties: false
                  properties:
                    kind: { type: string, enum: [nftables, dry-run] }
                    table: { type: string }
                    elements: { type: integer, minimum: 0 }
                    packets_dropped: { type: integer, minimum: 0 }
                    error: { type: string }
                flood_guard:
                  type: object
                  required: [packets_per_second, burst, ports]
                  additionalProperties: false
                  properties:
                    packets_per_second: { type: integer, minimum: 1 }
                    burst: { type: integer, minimum: 1 }
                    ports: { type: array, items: { type: string } }
                    packets_dropped: { type: integer, minimum: 0 }
                unmatched:
                  type: array
                  items:
                    type: object
                    required: [file, count, sample]
                    additionalProperties: false
                    properties:
                      file: { type: string }
                      count: { type: integer, minimum: 1 }
                      sample: { type: string }
                unmatched_as_of: { type: string, format: date-time }
            RangeBlockRequest:
              type: object
              required: [selector]
              properties:
                selector:
                  type: string
                  minLength: 1
                  maxLength: 4096
                  description: 'aws:EC2, AS14061, list:NAME or file:/PATH (a file of CIDRs).'
                  examples: ['list:lab', 'AS64500']
                scope: { type: string, enum: [sip, all], default: sip, description: The SIP ports only, or everything. }
                block_seconds:
                  description: Block length in seconds; absent or null for a permanent block.
                  type: [integer, 'null']
                  minimum: 1
                  maximum: 315360000
            RangeBlock:
              type: object
              required: [selector, scope, origin, created, intervals, refreshed]
              additionalProperties: false
              properties:
                selector: { type: string }
                scope: { type: string, enum: [sip, all] }
                origin: { type: string, enum: [manual, policy, asn-rule, overdue-rule] }
                created: { type: string, format: date-time }
                expires: { type: string, format: date-time, description: Absent for a permanent block. }
                intervals: { type: integer, minimum: 0, description: Intervals in the kernel after merging and carving out the allowlist. }
                refreshed: { type: string, format: date-time }
                reason: { type: string, description: "Why it was made, when the origin alone does not say (the AS rules: their threshold; overdue-block: the overdue cases)." }
            CaseState:
              type: string
              enum: [detected, review, sent, acknowledged, mitigated, resumed, overdue, escalated, closed]
            Case:
              type: object
              required: [id, state, sources, contacts, current_contact, opened, escalations, bounces]
              additionalProperties: false
              properties:
                id: { type: string, format: uuid }
                state: { $ref: '#/components/schemas/CaseState' }
                sources: { type: array, items: { type: string }, description: The banned addresses the case reports. }
                contacts: { type: array, items: { type: string }, description: 'The abuse mailboxes, in the order they are tried.' }
                current_contact: { type: integer, minimum: 0, description: Index into contacts of the one written to now. }
                opened: { type: string, format: date-time }
                escalations: { type: array, items: { type: string, enum: [next-contact, national-cert, law-enforcement] } }
                bounces: { type: integer, minimum: 0 }
                asn: { type: integer, minimum: 0 }
                organisation: { type: string }
                ticket: { type: string, description: 'The provider''s ticket number, from its acknowledgement.' }
                reported: { type: string, format: date-time }
                acknowledged: { type: string, format: date-time }
                mitigated: { type: string, format: date-time }
                last_traffic: { type: string, format: date-time, description: The sources' last packet seen. }
                pending_escalation: { type: string, enum: [next-contact, national-cert, law-enforcement], description: The step waiting for approval. }
                history:
                  type: array
                  items:
                    type: object
                    required: [time, state, note]
                    additionalProperties: false
                    properties:
                      time: { type: string, format: date-time }
                      state: { $ref: '#/components/schemas/CaseState' }
                      note: { type: string }
                messages:
                  type: array
                  items:
                    type: object
                    required: [direction, time]
                    additionalProperties: false
                    properties:
                      direction: { type: string, enum: [in, out] }
                      time: { type: string, format: date-time }
                      message_id: { type: string }
                      peer: { type: string, description: 'The other side''s address (attacker-influenced for answers).' }
                      kind: { type: string, enum: [bounce, acknowledgement, out-of-office, feedback-report, human] }
                      ticket: { type: string }
                outbox:
                  type: array
                  items:
                    type: object
                    required: [message_id, recipient, state, attempts]
                    additionalProperties: false
                    properties:
                      message_id: { type: string }
                      recipient: { type: string }
                      state: { type: string, enum: [pending-approval, queued, handing-over, sent, failed] }
                      attempts: { type: integer, minimum: 0 }
                      sent: { type: string, format: date-time }
            CaseDetail:
              allOf:
                - $ref: '#/components/schemas/Case'
                - required: [history, messages, outbox]
            ProviderScore:
              type: object
              required: [cases, reported, bounced, acknowledged, overdue_now]
              additionalProperties: false
              properties:
                asn: { type: integer, minimum: 0 }
                organisation: { type: string }
                cases: { type: integer, minimum: 1 }
                reported: { type: integer, minimum: 0, description: Cases whose report went out. }
                bounced: { type: integer, minimum: 0, description: Cases with at least one bounce. }
                acknowledged: { type: integer, minimum: 0 }
                median_seconds_to_acknowledge: { type: integer, minimum: 0 }
                median_seconds_until_stopped: { type: integer, minimum: 0, description: 'From the report to the sources'' last packet, over mitigated cases.' }
                resumed_share: { type: number, minimum: 0, maximum: 1, description: Share of mitigated cases whose sources came back. }
                never_acted_share: { type: number, minimum: 0, maximum: 1, description: 'Share of reported cases past the mitigation deadline with neither an answer nor the attack stopping.' }
                overdue_now: { type: integer, minimum: 0, description: Cases overdue or escalated now. }
        """#
}
