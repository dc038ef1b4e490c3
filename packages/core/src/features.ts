/**
 * Importing this module registers every feature's keywords, like HAProxy's
 * INITCALL stage. Order matters only for the HAProxy keyword tables, which
 * must come last: they record the HAProxy keywords nobody registered.
 */
import './proxy/sections';
import './proxy/bind';
import './proxy/server';
import './backend/server-pool';
import './backend/queue-keywords';
import './backend/retry';
import './backend/balance-keywords';
import './log/keywords';
import './log/format-keywords';
import './http/errorfile-keywords';
import './http/http-errors';
import './http/http-keywords';
import './http/services';
import './http/forwarding';
import './http/restrict-hdr-names';
import './http/monitor-uri';
import './http/unique-id';
import './http/captures';
import './proxy/dispatch';
import './http/tune-keywords';
import './tls/bind-ssl';
import './tls/server-ssl';
import './tls/ssl-defaults';
import './checks/keywords';
import './rules/fetches';
import './rules/map';
import './rules/converters';
import './rules/vars';
import './rules/var-actions';
import './rules/stream-actions';
import './http/fetches';
import './http/actions';
import './http/userlist';
import './http/cookie-persist';
import './rules/keywords';
import './rules/tcp-actions';
import { registerHaproxyKeywordTables } from './config/haproxy-keywords';

registerHaproxyKeywordTables();
