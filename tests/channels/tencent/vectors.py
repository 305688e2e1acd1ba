"""Tencent's own published samples of the callback crypto, copied verbatim. Each names where it is
published; none is made up here."""

from __future__ import annotations

# --- WeCom (企业微信) ---------------------------------------------------------------------------------
# The configuration of the samples in WeCom's "加解密方案说明" (developer.work.weixin.qq.com/document/
# path/91144 and /90968, "举例说明") and in the official WXBizMsgCrypt SDK samples (Sample.cs / Sample.py /
# WXBizMsgCryptTest.java; e.g. sbzhu/weworkapi_python callback_python3/Sample.py quotes the same URL check).
WECOM_TOKEN = "QDG6eK"
WECOM_CORP_ID = "wx5823bf96d3bd56c7"
WECOM_AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"

# URL verification (使用示例一：验证回调URL): GET /cgi-bin/wxpush?msg_signature=…&echostr=… in the official
# SDK samples (sbzhu/weworkapi_python callback_python3/Sample.py comment; C# Sample.cs sVerify*).
WECOM_VERIFY_SIGNATURE = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
WECOM_VERIFY_TIMESTAMP = "1409659589"
WECOM_VERIFY_NONCE = "263014780"
WECOM_VERIFY_ECHOSTR = (
    "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
)
# What the SDK's VerifyURL returns for it (the echo the platform expects back).
WECOM_VERIFY_PLAIN = "1616140317555161061"

# A received message (使用示例二 / 举例说明): POST /cgi-bin/wxpush?msg_signature=477715d1…&timestamp=…
# &nonce=1372623149 — WeCom docs 91144 "举例说明" and the official C# Sample.cs (sReqMsgSig, sReqData).
WECOM_MSG_SIGNATURE = "477715d11cdb4164915debcba66cb864d751f3e6"
WECOM_MSG_TIMESTAMP = "1409659813"
WECOM_MSG_NONCE = "1372623149"
WECOM_MSG_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911"
    "L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHz"
    "M6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf"
    "6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9"
    "p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)
WECOM_MSG_BODY = (
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>"
    f"<Encrypt><![CDATA[{WECOM_MSG_ENCRYPT}]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>"
)
# The plaintext the docs show for it (解密后得到明文为), line breaks as the ciphertext carries them.
WECOM_MSG_PLAIN = (
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n"
    "<FromUserName><![CDATA[mycreate]]></FromUserName>\n"
    "<CreateTime>1409659813</CreateTime>\n"
    "<MsgType><![CDATA[text]]></MsgType>\n"
    "<Content><![CDATA[hello]]></Content>\n"
    "<MsgId>4561255354251345929</MsgId>\n"
    "<AgentID>218</AgentID>\n"
    "</xml>"
)

# --- WeChat Official Account (公众号) ------------------------------------------------------------------
# The test of the 公众平台 message crypto sample (WXBizMsgCrypt Sample, 测试解密接口), as in Tencent's
# download for Official Accounts; quoted by fotock/WXbizMsgCrypt-Node README.md.
MP_TOKEN = "spamtest"
MP_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
MP_APP_ID = "wx2c2769f8efd9abc2"
MP_MSG_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
MP_MSG_TIMESTAMP = "1409735669"
MP_MSG_NONCE = "1320562132"
MP_MSG_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFV"
    "AFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSny"
    "U8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfR"
    "d5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsN"
    "PfUM669WuMyVWQLCzpu9GhglF2PE="
)
# The sample's body: compatible mode (plaintext fields and <Encrypt> side by side).
MP_MSG_BODY = (
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]>"
    "</FromUserName><CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[abcdteT]]>"
    f"</Content><MsgId>6054768590064713728</MsgId><Encrypt><![CDATA[{MP_MSG_ENCRYPT}]]></Encrypt></xml>"
)

# Encryption with a fixed random prefix: the 公众平台 Java SDK's WXBizMsgCryptTest (com.qq.weixin.mp.aes),
# quoted by Wyl015/wuyiling work-test/src/main/resources/Utils/aes/WXBizMsgCryptTest.java.
MP_JAVA_APP_ID = "wxb11529c136998cb6"
MP_JAVA_RANDOM = "aaaabbbbccccdddd"
MP_JAVA_REPLY = "我是中文abcd123"
MP_JAVA_AFTER_AES = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
MP_JAVA_REPLY2 = (
    "<xml><ToUserName><![CDATA[oia2Tj我是中文jewbmiOUlr6X-1crbLOvLw]]></ToUserName><FromUserName><![CDATA[gh_7f083739789a]]>"
    "</FromUserName><CreateTime>1407743423</CreateTime><MsgType><![CDATA[video]]></MsgType><Video><MediaId><![CDATA["
    "eYJ1MbwPRJtOvIEabaxHs7TX2D-HV71s79GUxqdUkjm6Gs2Ed1KF3ulAOA9H1xG0]]></MediaId><Title><![CDATA[testCallBackReplyVideo]]>"
    "</Title><Description><![CDATA[testCallBackReplyVideo]]></Description></Video></xml>"
)
MP_JAVA_AFTER_AES2 = (
    "jn1L23DB+6ELqJ+6bruv23M2GmYfkv0xBh2h+XTBOKVKcgDFHle6gqcZ1cZrk3e1qjPQ1F4RsLWzQRG9udbKWesxlkupqcEcW7ZQweImX9+w"
    "LMa0GaUzpkycA8+IamDBxn5loLgZpnS7fVAbExOkK5DYHBmv5tptA9tklE/fTIILHR8HLXa5nQvFb3tYPKAlHF3rtTeayNf0QuM+UW/wM9enGIDI"
    "JHF7CLHiDNAYxr+r+OrJCmPQyTy8cVWlu9iSvOHPT/77bZqJucQHQ04sq7KZI27OcqpQNSto2OdHCoTccjggX5Z9Mma0nMJBU+jLKJ38YB1fBIz"
    "+vBzsYjrTmFQ44YfeEuZ+xRTQwr92vhA9OxchWVINGC50qE/6lmkwWTwGX9wtQpsJKhP+oS7rvTY8+VdzETdfakjkwQ5/Xka042OlUb1/slTwo4"
    "RscuQ+RdxSGvDahxAJ6+EAjLt9d8igHngxIbf6YyqqROxuxqIeIch3CssH/LqRs+iAcILvApYZckqmA7FNERspKA5f8GoJ9sv8xmGvZ9Yrf57cEx"
    "WtnX8aCMMaBropU/1k+hKP5LVdzbWCG0hGwx/dQudYR/eXp3P0XxjlFiy+9DMlaFExWUZQDajPkdPrEeOwofJb"
)

# --- WeCom callback XML samples (plaintext, as the docs show them once decrypted) ---------------------
# 添加企业客户事件 (客户联系 change_external_contact), developer.work.weixin.qq.com/document/path/92130.
WECOM_ADD_EXTERNAL_CONTACT = (
    "<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
    "<CreateTime>1403610513</CreateTime><MsgType><![CDATA[event]]></MsgType>"
    "<Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[add_external_contact]]></ChangeType>"
    "<UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mAAAA]]></ExternalUserID>"
    "<State><![CDATA[teststate]]></State><WelcomeCode><![CDATA[WELCOMECODE]]></WelcomeCode></xml>"
)
# 微信客服 接收消息和事件 (kf_msg_or_event), developer.work.weixin.qq.com/document/path/94670.
WECOM_KF_EVENT = (
    "<xml><ToUserName><![CDATA[ww12345678910]]></ToUserName><CreateTime>1348831860</CreateTime>"
    "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>"
    "<Token><![CDATA[ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR]]></Token>"
    "<OpenKfId><![CDATA[wkxxxxxxx]]></OpenKfId></xml>"
)

# --- JS-SDK signature ------------------------------------------------------------------------------
# The example of the JS-SDK docs, 附录1-JS-SDK使用权限签名算法 (developers.weixin.qq.com/doc/offiaccount/
# OA_Web_Apps/JS-SDK.html; WeCom's JS-SDK 签名算法 page uses the same example).
JS_TICKET = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
JS_NONCESTR = "Wm3WZYTPz0wzccnW"
JS_TIMESTAMP = "1414587457"
JS_URL = "http://mp.weixin.qq.com?params=value"
JS_SIGNATURE = "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
