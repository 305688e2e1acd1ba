"""What the demo tenant's knowledge base holds: categories, articles and quick replies written for the
demo's industries (零售电商、茶饮门店、在线教育、烘焙、药店、银行信用卡、汽车4S、母婴、家电维修).

Pure data; :mod:`huiliu.demo.capabilities` writes it through ``kb.service``. Articles and categories
are found again by title and name, so the texts may be edited here and a new one is added on the
next ``huiliu demo`` (changed texts of existing articles are left as the tenant has them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class KbCategorySpec:
    name: str
    description: str
    position: int


@dataclass(frozen=True)
class KbArticleSpec:
    title: str
    category: str
    visibility: Literal["public", "internal"]  # internal: agents only
    tags: tuple[str, ...]
    body: str  # HTML, sanitised by the service


@dataclass(frozen=True)
class QuickReplySpec:
    title: str
    shortcut: str
    body: str  # a template: {{ customer.name }}, {{ ticket.number }}, {{ agent.name }} …


CATEGORIES: tuple[KbCategorySpec, ...] = (
    KbCategorySpec("退换货与退款", "零售、母婴、电商订单的退货、换货、退款规则", 10),
    KbCategorySpec("配送与物流", "发货时效、快递查询、冷链与药品配送", 20),
    KbCategorySpec("保修与维修", "家电、门店设备的保修范围、报修与上门服务", 30),
    KbCategorySpec("发票与会员", "电子发票、会员等级与积分", 40),
    KbCategorySpec("课程与培训", "课程退费、转班、直播上课问题", 50),
    KbCategorySpec("金融与汽车服务", "信用卡办卡进度、4S 店保养预约", 60),
    KbCategorySpec("内部处理规范", "坐席内部使用：升级、投诉、质检的处理口径", 70),
)

ARTICLES: tuple[KbArticleSpec, ...] = (
    KbArticleSpec(
        "七天无理由退货政策",
        "退换货与退款",
        "public",
        ("退货", "七天无理由", "退款"),
        "<p>自签收次日起 <strong>7 天内</strong>，商品未使用、包装及配件齐全、不影响二次销售的，"
        "可申请七天无理由退货。</p>"
        "<ul><li>定制商品（如定制蛋糕）、已拆封的奶粉和药品、贴身衣物不支持无理由退货；</li>"
        "<li>非质量问题退货的寄回运费由顾客承担，质量问题由我们承担；</li>"
        "<li>在小程序“我的订单 → 申请售后”提交，或联系客服提供订单号。</li></ul>",
    ),
    KbArticleSpec(
        "退款到账时间说明",
        "退换货与退款",
        "public",
        ("退款", "到账"),
        "<p>仓库签收退货并验收通过后 <strong>1 个工作日内</strong>发起退款，原路退回：</p>"
        "<ul><li>微信支付、支付宝：1–3 个工作日到账；</li>"
        "<li>银行卡：3–7 个工作日，以银行入账为准；</li>"
        "<li>使用优惠券的订单，优惠券在退款完成后返还（过期券不返还）。</li></ul>"
        "<p>超过以上时间仍未到账，请提供订单号联系客服，我们会加急核查。</p>",
    ),
    KbArticleSpec(
        "换货流程与质量问题判定",
        "退换货与退款",
        "public",
        ("换货", "质量问题"),
        "<p>收到商品有破损、少件、发错货或功能故障，请在签收后 <strong>15 天内</strong>申请换货，"
        "并上传外包装、商品问题部位的照片或视频。</p>"
        "<p>客服确认后安排上门取件（运费由我们承担），新商品在收到退回件后 48 小时内发出。</p>",
    ),
    KbArticleSpec(
        "母婴用品退换货须知",
        "退换货与退款",
        "public",
        ("母婴", "奶粉", "退换"),
        "<p>为保障宝宝用品卫生安全：奶粉、辅食、奶瓶奶嘴等<strong>开封后不支持退换</strong>，"
        "未开封且在保质期内的可 7 天无理由退货。</p>"
        "<p>如怀疑奶粉质量问题，请保留罐体与批次号、拍照后联系客服，由营养顾问与品控跟进，"
        "不要自行丢弃。</p>",
    ),
    KbArticleSpec(
        "发货时效与配送范围",
        "配送与物流",
        "public",
        ("发货", "配送", "物流"),
        "<p>现货商品 <strong>16:00 前</strong>付款当天发出，之后次日发出；预售商品以详情页为准。</p>"
        "<ul><li>江浙沪、珠三角：一般 1–2 天送达；</li><li>其他省会城市：2–3 天；</li>"
        "<li>偏远地区（新疆、西藏等）：5–7 天，部分大件不支持配送。</li></ul>"
        "<p>物流超过 3 天未更新，请联系客服登记，我们会向快递公司发起查件。</p>",
    ),
    KbArticleSpec(
        "蛋糕与鲜食配送时段",
        "配送与物流",
        "public",
        ("蛋糕", "配送时段", "烘焙"),
        "<p>定制蛋糕需提前 <strong>24 小时</strong>预订，可选配送时段 10:00–12:00、14:00–17:00、"
        "17:00–20:00。配送员出发前 30 分钟电话联系收货人。</p>"
        "<p>因冷链原因蛋糕不支持快递；超出门店 10 公里配送范围的订单请选择到店自提。</p>",
    ),
    KbArticleSpec(
        "药品配送与处方药说明",
        "配送与物流",
        "public",
        ("药品", "处方药", "配送"),
        "<p>非处方药下单后 2 小时内由附近门店配送（营业时间内）。处方药需上传有效处方，"
        "经执业药师审核通过后发货。</p>"
        "<p>药品一经售出，无质量问题不予退换；用药问题请咨询门店药师，急症请立即就医。</p>",
    ),
    KbArticleSpec(
        "家电保修范围与期限",
        "保修与维修",
        "public",
        ("保修", "家电", "电视"),
        "<p>整机保修 <strong>1 年</strong>，电视面板、空调压缩机等主要部件保修 <strong>3 年</strong>，"
        "以购买发票或电子订单日期为准。</p>"
        "<ul><li>保修期内非人为损坏：免费维修、免上门费；</li>"
        "<li>人为损坏、私自拆修、进水：按维修报价收费；</li>"
        "<li>保修期外：上门费 50 元，配件按价目表收取。</li></ul>",
    ),
    KbArticleSpec(
        "门店设备扫码报修指南",
        "保修与维修",
        "public",
        ("报修", "扫码", "门店设备"),
        "<p>门店的制冰机、封口机、收银机等设备出现故障时，扫描设备上的报修二维码，"
        "选择设备型号、填写故障现象并上传照片即可提交。</p>"
        "<p>华南、华东区域的工程师会在 <strong>2 小时内</strong>电话联系，约定上门时间；"
        "影响营业的紧急故障请在描述中注明“停业”，我们会优先处理。</p>",
    ),
    KbArticleSpec(
        "电子发票开具与换开",
        "发票与会员",
        "public",
        ("发票", "电子发票", "报销"),
        "<p>订单完成后可在“我的订单 → 申请开票”填写抬头与税号，电子发票 "
        "<strong>1–3 个工作日</strong>内发送到预留邮箱。</p>"
        "<ul><li>个人抬头无需税号；企业抬头请核对税号，开错可在 30 天内申请换开一次；</li>"
        "<li>已开票的订单退货后，原发票作废并按实付金额重新开具。</li></ul>",
    ),
    KbArticleSpec(
        "会员等级与积分规则",
        "发票与会员",
        "public",
        ("会员", "积分", "会员日"),
        "<p>消费 1 元积 1 分，积分可在下单时抵现（100 分抵 1 元），有效期至次年 12 月 31 日。</p>"
        "<ul><li>普通会员：注册即享；</li><li>银卡：近 12 个月消费满 2000 元，享 95 折与生日券；</li>"
        "<li>金卡：满 8000 元，享 9 折、专属客服与每月会员日双倍积分。</li></ul>",
    ),
    KbArticleSpec(
        "课程退费规则",
        "课程与培训",
        "public",
        ("课程退费", "退课", "教育"),
        "<p>报名后 <strong>7 天内且未上课</strong>可全额退费；已上课的按未上课时比例退费，"
        "扣除已发放的教材费。</p>"
        "<ul><li>试听课免费，不涉及退费；</li><li>活动特价课以报名页说明为准；</li>"
        "<li>退费在审核通过后 5 个工作日内原路退回。也可申请转班或转给家人使用。</li></ul>",
    ),
    KbArticleSpec(
        "直播课卡顿自查步骤",
        "课程与培训",
        "public",
        ("直播卡顿", "网课", "技术问题"),
        "<ol><li>切换到 5G Wi‑Fi 或手机流量，关闭其他下载和视频；</li>"
        "<li>将 App 更新到最新版本，清理缓存后重新进入直播间；</li>"
        "<li>画面卡住时点击右上角“切换线路”；</li>"
        "<li>仍无法观看可在课程页提交工单，课后 24 小时内可观看回放，回放不扣课时。</li></ol>",
    ),
    KbArticleSpec(
        "信用卡办卡进度与审批时长",
        "金融与汽车服务",
        "public",
        ("信用卡", "办卡进度"),
        "<p>提交申请后 <strong>3–7 个工作日</strong>完成审批，审批通过后 5 个工作日内寄出实体卡，"
        "可在公众号“办卡进度查询”输入身份证后六位查看。</p>"
        "<p>资料不全会收到补件短信，请在 15 天内补充，否则申请自动关闭。</p>",
    ),
    KbArticleSpec(
        "4S 店保养预约说明",
        "金融与汽车服务",
        "public",
        ("保养预约", "汽车", "4S"),
        "<p>小保养约 1 小时、大保养约 2–3 小时。请至少提前 1 天预约，并告知车牌号、当前里程与"
        "希望到店时间。</p>"
        "<p>预约车主到店免排队，休息区提供 Wi‑Fi 与茶歇；超过预约时间 30 分钟未到店，预约自动取消。</p>",
    ),
    KbArticleSpec(
        "退款审批口径（内部）",
        "内部处理规范",
        "internal",
        ("退款", "审批", "内部"),
        "<p>退款类工单由“退款审批”流程处理：先由所属组组长审批；<strong>金额 ≥ 1000 元</strong>"
        "另需客服中心主管复核，再由售后组办理。</p>"
        "<ul><li>审批意见写明依据（政策条款、凭证是否齐全）；</li>"
        "<li>凭证不全驳回到“补充凭证”，由坐席联系客户补齐；</li>"
        "<li>同一客户 30 天内第三次退款申请，备注中标记“重复退款”。</li></ul>",
    ),
    KbArticleSpec(
        "投诉升级与安抚话术（内部）",
        "内部处理规范",
        "internal",
        ("投诉", "升级", "话术"),
        "<p>客户情绪激动或提到“12315”“媒体”“律师”时：先致歉、复述问题、给出明确回电时间，"
        "并立即转投诉处理组。</p>"
        "<p>补偿权限：坐席 ≤ 50 元优惠券；组长 ≤ 200 元；超出需走“投诉协同处理”流程，"
        "由售后核算补偿方案。所有承诺必须在工单内部备注中记录。</p>",
    ),
    KbArticleSpec(
        "超 24 小时未处理工单的处理要求（内部）",
        "内部处理规范",
        "internal",
        ("升级", "SLA", "超时"),
        "<p>创建后 24 小时仍未回复的工单会被自动化规则提高优先级、转交组长并短信提醒组长。"
        "组长收到后应在 1 小时内重新分派或亲自回复，并在内部备注写明延误原因。</p>",
    ),
)

QUICK_REPLIES: tuple[QuickReplySpec, ...] = (
    QuickReplySpec(
        "首次问候",
        "hello",
        "{{ customer.name }}您好，我是客服{{ agent.name }}，您的问题已登记为工单 #{{ ticket.number }}，"
        "我来为您处理。",
    ),
    QuickReplySpec(
        "退款已受理",
        "refund",
        "{{ customer.name }}您好，您的退款申请（工单 #{{ ticket.number }}）已受理，审批通过后 1 个工作日内"
        "原路退回，微信/支付宝 1–3 个工作日到账。",
    ),
    QuickReplySpec(
        "请补充订单信息",
        "need-order",
        "{{ customer.name }}您好，为尽快处理「{{ ticket.title }}」，麻烦提供订单号和商品问题部位的照片，"
        "收到后我们会第一时间跟进。",
    ),
    QuickReplySpec(
        "上门维修预约",
        "repair-visit",
        "{{ customer.name }}您好，工单 #{{ ticket.number }} 已安排工程师，工程师会在 2 小时内电话与您"
        "约定上门时间，请保持电话畅通。",
    ),
    QuickReplySpec(
        "结案回访",
        "closing",
        "{{ customer.name }}您好，工单 #{{ ticket.number }} 已处理完毕。如还有问题可直接回复本消息，"
        "感谢您的耐心！—— {{ agent.name }}",
    ),
)
