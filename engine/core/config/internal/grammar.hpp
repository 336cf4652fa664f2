#pragma once
// The HOCON grammar on PEGTL. Only whole tokens carry actions (see parser.cpp), so
// backtracking never leaves half-built state behind; everything after a committing
// prefix is wrapped in must<> and reports a readable message (see error_message).

#include <tao/pegtl.hpp>

namespace wfe::core::config_internal::grammar {

namespace pg = tao::pegtl;

// -- whitespace and comments ---------------------------------------------------------
struct bom : pg::string<'\xEF', '\xBB', '\xBF'> {};
struct newline : pg::one<'\n'> {};
struct ws_char : pg::one<' ', '\t', '\r', '\f', '\v'> {};
struct comment : pg::seq<pg::sor<pg::one<'#'>, pg::two<'/'>>, pg::star<pg::not_one<'\n'>>> {};
struct ws : pg::star<pg::sor<ws_char, comment>> {};
struct wsnl : pg::star<pg::sor<ws_char, newline, comment>> {};

// Characters an unquoted string or key may not contain (HOCON.md, "Unquoted strings").
struct forbidden : pg::one<'$', '"', '{', '}', '[', ']', ':', '=', ',', '+', '#', '`', '^', '?',
                           '!', '@', '*', '&', '\\', ' ', '\t', '\n', '\r', '\f', '\v'> {};
struct unquoted_char : pg::seq<pg::not_at<forbidden>, pg::not_at<pg::two<'/'>>, pg::any> {};
struct key_char : pg::seq<pg::not_at<pg::one<'.'>>, unquoted_char> {};

// -- quoted strings --------------------------------------------------------------------
struct escape_body : pg::sor<pg::one<'"', '\\', '/', 'b', 'f', 'n', 'r', 't'>,
                             pg::seq<pg::one<'u'>, pg::rep<4, pg::xdigit>>> {};
struct escape : pg::seq<pg::one<'\\'>, pg::must<escape_body>> {};
struct string_char : pg::sor<escape, pg::not_one<'"', '\\', '\n'>> {};
struct quoted_body : pg::seq<pg::star<string_char>, pg::one<'"'>> {};
struct quoted_string : pg::seq<pg::one<'"'>, pg::must<quoted_body>> {};

struct triple_close : pg::seq<pg::three<'"'>, pg::not_at<pg::one<'"'>>> {};
struct triple_body : pg::seq<pg::star<pg::not_at<triple_close>, pg::any>, triple_close> {};
struct triple_quoted : pg::seq<pg::three<'"'>, pg::must<triple_body>> {};

// -- keys and paths --------------------------------------------------------------------
struct key_start : pg::success {};
struct key_quoted : quoted_string {};
struct key_unquoted : pg::plus<key_char> {};
struct key_dot : pg::one<'.'> {};
struct key_ws : pg::seq<pg::plus<ws_char>, pg::at<pg::sor<pg::one<'"', '.'>, key_char>>> {};
struct key_piece : pg::sor<key_quoted, key_unquoted, key_dot> {};
struct path_expr : pg::seq<key_start, key_piece, pg::star<pg::sor<key_piece, key_ws>>> {};
struct member_key : path_expr {};
struct subst_key : path_expr {};

// -- values ----------------------------------------------------------------------------
struct value;
struct entry;

struct separator : pg::seq<ws, pg::sor<pg::seq<pg::one<','>, wsnl>,
                                       pg::seq<newline, wsnl, pg::opt<pg::one<','>, wsnl>>>> {};

struct subst_open : pg::string<'$', '{'> {};
struct subst_optional : pg::one<'?'> {};
struct subst_body : pg::seq<ws, pg::opt<subst_optional>, ws, subst_key, ws, pg::one<'}'>> {};
struct substitution : pg::seq<subst_open, pg::must<subst_body>> {};

struct array_open : pg::one<'['> {};
struct array_close : pg::one<']'> {};
struct array_items : pg::opt<value, pg::star<separator, value>, pg::opt<separator>> {};
struct array : pg::seq<array_open, wsnl, array_items, wsnl, pg::must<array_close>> {};

struct object_open : pg::one<'{'> {};
struct object_close : pg::one<'}'> {};
struct members
    : pg::seq<wsnl, pg::opt<entry, pg::star<separator, entry>, pg::opt<separator>>, wsnl> {};
struct braced_object : pg::seq<object_open, members, pg::must<object_close>> {};

template <char... Cs>
struct keyword : pg::seq<pg::string<Cs...>, pg::not_at<unquoted_char>> {};
struct value_true : keyword<'t', 'r', 'u', 'e'> {};
struct value_false : keyword<'f', 'a', 'l', 's', 'e'> {};
struct value_null : keyword<'n', 'u', 'l', 'l'> {};
struct number_literal
    : pg::seq<pg::opt<pg::one<'-'>>, pg::plus<pg::digit>,
              pg::opt<pg::one<'.'>, pg::plus<pg::digit>>,
              pg::opt<pg::one<'e', 'E'>, pg::opt<pg::one<'+', '-'>>, pg::plus<pg::digit>>> {};
struct value_number : pg::seq<number_literal, pg::not_at<unquoted_char>> {};
struct value_quoted : quoted_string {};
struct value_triple : triple_quoted {};
struct value_unquoted : pg::plus<unquoted_char> {};

struct piece : pg::sor<value_triple, value_quoted, substitution, array, braced_object, value_number,
                       value_true, value_false, value_null, value_unquoted> {};
struct piece_start : pg::sor<pg::one<'"', '[', '{'>, subst_open, unquoted_char> {};
// Whitespace inside a concatenation (kept: `a = foo bar` is "foo bar").
struct concat_ws : pg::seq<pg::plus<ws_char>, pg::at<piece_start>> {};
struct value_begin : pg::success {};
// at<piece_start> first: past it, piece either matches or raises, so value_begin's
// action never runs for a value that then fails to match.
struct value
    : pg::seq<pg::at<piece_start>, value_begin, piece, pg::star<pg::opt<concat_ws>, piece>> {};

// -- fields and includes ---------------------------------------------------------------
struct op_assign : pg::one<'=', ':'> {};
struct op_append : pg::string<'+', '='> {};
struct member_rest : pg::sor<pg::seq<pg::sor<op_assign, op_append>, wsnl, pg::must<value>>,
                             pg::seq<pg::at<pg::one<'{'>>, value>> {};
struct member : pg::seq<member_key, ws, pg::must<member_rest>> {};

struct include_begin : pg::seq<TAO_PEGTL_STRING("include"), pg::plus<ws_char>,
                               pg::not_at<pg::one<'=', ':', '{', '.', '+'>>> {};
struct include_name : quoted_string {};
struct include_file : TAO_PEGTL_STRING("file") {};
struct include_classpath : TAO_PEGTL_STRING("classpath") {};
struct include_url : TAO_PEGTL_STRING("url") {};
struct include_kind : pg::sor<include_file, include_classpath, include_url> {};
struct include_resource
    : pg::sor<include_name,
              pg::seq<include_kind, ws, pg::one<'('>, ws, include_name, ws, pg::one<')'>>> {};
struct include_required : TAO_PEGTL_STRING("required") {};
struct include_target
    : pg::sor<pg::seq<include_required, ws, pg::one<'('>, ws, include_resource, ws, pg::one<')'>>,
              include_resource> {};
struct include_stmt : pg::seq<include_begin, pg::must<include_target>> {};
struct entry : pg::sor<include_stmt, member> {};

// -- documents -------------------------------------------------------------------------
struct root_open : pg::one<'{'> {};
struct root_close : pg::one<'}'> {};
struct root_braced : pg::seq<root_open, members, pg::must<root_close>> {};
struct root_end : pg::eof {};
struct document
    : pg::seq<pg::opt<bom>, wsnl, pg::sor<root_braced, members>, wsnl, pg::must<root_end>> {};

// A lone value (the `-Dpath=[...]` / `{...}` override syntax).
struct value_end : pg::eof {};
struct value_document : pg::seq<wsnl, pg::must<value>, wsnl, pg::must<value_end>> {};

// -- error messages ----------------------------------------------------------------------
template <typename Rule>
inline constexpr const char* error_message = "syntax error";
template <>
inline constexpr const char* error_message<escape_body> =
    "invalid escape sequence (expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)";
template <>
inline constexpr const char* error_message<quoted_body> =
    "unterminated string (expected a closing '\"' before the end of the line)";
template <>
inline constexpr const char* error_message<triple_body> =
    "unterminated string (expected closing '\"\"\"')";
template <>
inline constexpr const char* error_message<subst_body> =
    "expected a path and '}' to close the substitution '${'";
template <>
inline constexpr const char* error_message<array_close> = "expected ',' or ']' in a list";
template <>
inline constexpr const char* error_message<object_close> = "expected '}' or a key";
template <>
inline constexpr const char* error_message<root_close> = "expected '}' or a key";
template <>
inline constexpr const char* error_message<value> = "expected a value";
template <>
inline constexpr const char* error_message<member_rest> =
    "expected '=', ':', '+=' or '{' after the key";
template <>
inline constexpr const char* error_message<include_target> =
    "expected a quoted file name, file(\"...\"), classpath(\"...\"), url(\"...\") or required(...) "
    "after include";
template <>
inline constexpr const char* error_message<root_end> = "expected a key, ',' or a newline";
template <>
inline constexpr const char* error_message<value_end> = "expected the end of the value";

template <typename Rule>
struct control : pg::normal<Rule> {
  template <typename Input, typename... States>
  [[noreturn]] static void raise(const Input& in, States&&... /*unused*/) {
    throw pg::parse_error(error_message<Rule>, in);
  }
};

}  // namespace wfe::core::config_internal::grammar
