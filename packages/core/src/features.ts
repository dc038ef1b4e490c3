/**
 * Importing this module registers every feature's keywords, like HAProxy's
 * INITCALL stage. Order matters only for the HAProxy keyword tables, which
 * must come last: they record the HAProxy keywords nobody registered.
 */
import './proxy/sections';
import './proxy/bind';
import './proxy/server';
import './backend/server-pool';
import './log/keywords';
import './log/format-keywords';
import './http/errorfile-keywords';
import './http/http-keywords';
import { registerHaproxyKeywordTables } from './config/haproxy-keywords';

registerHaproxyKeywordTables();
