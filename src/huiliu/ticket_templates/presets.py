"""The industry preset library: eight templates from the product brief that a tenant installs with one
call (``POST /api/v1/templates/presets/{key}:install``) and then adapts. Each preset passes the same
schema checks as a template an admin builds (a test loads every one). A preset's default category is a
key of the default taxonomy (intelligence.taxonomy, decision 0054), so its tickets show the category's
name rather than 不在分类体系中."""

from __future__ import annotations

from typing import Any


def _t(zh: str, en: str) -> dict[str, str]:
    return {"zh-CN": zh, "en": en}


def _options(*pairs: tuple[str, str, str]) -> list[dict[str, Any]]:
    return [{"value": value, "label": _t(zh, en)} for value, zh, en in pairs]


def _field(key: str, kind: str, zh: str, en: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "type": kind, "label": _t(zh, en), **extra}


def _when(field: str, op: str, value: Any = None) -> dict[str, Any]:
    test: dict[str, Any] = {"field": field, "op": op}
    if value is not None:
        test["value"] = value
    return {"all": [test]}


CONTACT_PHONE = _field("contact_phone", "phone", "联系电话", "Contact phone", required=True)

RETAIL_RETURN: dict[str, Any] = {
    "key": "retail_return",
    "industry": "retail",
    "name": "零售退换货",
    "description": "门店或线上订单的退货、换货申请：订单、原因、凭证照片与退款方式",
    "scenario": "aftersales",
    "defaults": {"priority": "normal", "tags": ["退换货"], "category": "refund_return"},
    "fields": [
        _field("order_number", "order_ref", "订单号", "Order number", required=True),
        _field(
            "request_type",
            "select",
            "申请类型",
            "Request",
            required=True,
            options=_options(("return", "退货退款", "Return and refund"), ("exchange", "换货", "Exchange")),
        ),
        _field(
            "reason",
            "select",
            "原因",
            "Reason",
            required=True,
            options=_options(
                ("quality", "质量问题", "Quality problem"),
                ("wrong_item", "发错货", "Wrong item"),
                ("size", "尺码不合适", "Wrong size"),
                ("no_reason", "七天无理由", "7-day no-reason return"),
            ),
        ),
        _field("photos", "image", "凭证照片", "Photos", validation={"max": 6}),
        _field(
            "exchange_size",
            "text",
            "换货尺码/规格",
            "Size or variant wanted",
            visible_when=_when("request_type", "eq", "exchange"),
            required_when=_when("request_type", "eq", "exchange"),
        ),
        _field(
            "refund_amount",
            "money",
            "退款金额",
            "Refund amount",
            validation={"min": 0},
            visible_when=_when("request_type", "eq", "return"),
        ),
        _field(
            "refund_method",
            "select",
            "退款方式",
            "Refund method",
            options=_options(
                ("original", "原路退回", "Original payment"), ("store_credit", "门店储值", "Store credit")
            ),
            default="original",
            visible_when=_when("request_type", "eq", "return"),
        ),
        CONTACT_PHONE,
    ],
}

LOGISTICS_QUERY: dict[str, Any] = {
    "key": "ecommerce_logistics",
    "industry": "ecommerce",
    "name": "电商物流查询",
    "description": "“订单没收到”：先核对物流状态，已签收走核实流程，运输中推送延迟通知",
    "scenario": "sales",
    "defaults": {"priority": "normal", "tags": ["物流"], "category": "logistics"},
    "fields": [
        _field("order_number", "order_ref", "订单号", "Order number", required=True),
        _field("tracking_number", "text", "快递单号", "Tracking number", validation={"max_length": 40}),
        _field(
            "logistics_status",
            "select",
            "物流状态",
            "Shipment status",
            options=_options(
                ("in_transit", "运输中", "In transit"),
                ("signed", "显示已签收", "Shown as delivered"),
                ("lost", "疑似丢件", "Possibly lost"),
                ("damaged", "包裹破损", "Damaged parcel"),
            ),
        ),
        _field(
            "signed_by_self",
            "select",
            "是否本人签收",
            "Signed by you?",
            options=_options(("yes", "是", "Yes"), ("no", "否", "No")),
            visible_when=_when("logistics_status", "eq", "signed"),
            required_when=_when("logistics_status", "eq", "signed"),
        ),
        _field(
            "damage_photos",
            "image",
            "破损照片",
            "Photos of the damage",
            visible_when=_when("logistics_status", "eq", "damaged"),
            required_when=_when("logistics_status", "eq", "damaged"),
        ),
        _field("address", "location", "收货地址", "Delivery address", channels=["web", "api", "console"]),
        CONTACT_PHONE,
    ],
}

DEVICE_REPAIR: dict[str, Any] = {
    "key": "onsite_device_repair",
    "industry": "manufacturing",
    "name": "上门设备报修",
    "description": "门店或客户现场设备故障：型号、序列号、故障照片、位置与预约时间，完工签字确认",
    "scenario": "aftersales",
    "defaults": {"priority": "high", "tags": ["报修"], "category": "installation_repair"},
    "fields": [
        _field(
            "device",
            "cascade",
            "设备型号",
            "Device model",
            required=True,
            options=[
                {
                    "value": "printer",
                    "label": _t("打印机", "Printer"),
                    "children": _options(("p100", "P100", "P100"), ("p200", "P200", "P200")),
                },
                {
                    "value": "pos",
                    "label": _t("收银机", "POS terminal"),
                    "children": _options(("s5", "S5", "S5"), ("s7", "S7 Pro", "S7 Pro")),
                },
                {
                    "value": "fridge",
                    "label": _t("冷柜", "Refrigerator"),
                    "children": _options(
                        ("c300", "C300 立式", "C300 upright"), ("c500", "C500 卧式", "C500 chest")
                    ),
                },
            ],
            # The web form asks the model; WeChat asks less (the agent fills it in).
            channels=["h5_form", "web", "api", "console"],
        ),
        _field(
            "serial_number", "text", "序列号", "Serial number", validation={"pattern": "^[A-Za-z0-9-]{4,32}$"}
        ),
        _field("fault_photos", "image", "故障照片", "Photos of the fault", validation={"max": 9}),
        _field("site", "location", "维修地点", "Site", required=True),
        _field("preferred_time", "datetime", "预约上门时间", "Preferred visit time"),
        _field(
            "parts_cost",
            "money",
            "配件费用",
            "Parts cost",
            validation={"min": 0},
            roles={"agent": "read_only"},
        ),
        _field("customer_signature", "signature", "客户签字确认", "Customer signature", channels=["console"]),
        CONTACT_PHONE,
    ],
}

COURSE_REFUND: dict[str, Any] = {
    "key": "course_refund_transfer",
    "industry": "education",
    "name": "课程退费/转班",
    "description": "学员退费或转班：课程、报名阶段（试听/正式课）、已上课时与退费金额",
    "scenario": "aftersales",
    "defaults": {"priority": "normal", "tags": ["退费转班"], "category": "refund_return"},
    "fields": [
        _field(
            "student_name", "text", "学员姓名", "Student name", required=True, validation={"max_length": 50}
        ),
        _field("course", "text", "课程名称", "Course", required=True),
        _field(
            "stage",
            "select",
            "报名阶段",
            "Enrolment stage",
            required=True,
            options=_options(("trial", "试听", "Trial"), ("formal", "正式课", "Enrolled")),
        ),
        _field(
            "request_type",
            "select",
            "申请类型",
            "Request",
            required=True,
            options=_options(("refund", "退费", "Refund"), ("transfer", "转班", "Transfer")),
        ),
        _field(
            "lessons_taken",
            "number",
            "已上课时",
            "Lessons taken",
            validation={"min": 0, "max": 500},
            visible_when=_when("stage", "eq", "formal"),
        ),
        _field(
            "refund_amount",
            "money",
            "申请退费金额",
            "Refund requested",
            validation={"min": 0},
            visible_when=_when("request_type", "eq", "refund"),
            required_when=_when("request_type", "eq", "refund"),
        ),
        _field(
            "target_class",
            "text",
            "转入班级",
            "Class to transfer to",
            visible_when=_when("request_type", "eq", "transfer"),
            required_when=_when("request_type", "eq", "transfer"),
        ),
        _field("reason", "textarea", "原因说明", "Reason", validation={"max_length": 1000}),
        CONTACT_PHONE,
    ],
}

CAKE_ORDER: dict[str, Any] = {
    "key": "custom_cake_order",
    "industry": "bakery",
    "name": "定制蛋糕订单",
    "description": "连锁烘焙：勾选蛋糕尺寸、配送时段、特殊备注，工单自动流转到裱花师与配送队",
    "scenario": "sales",
    "defaults": {"priority": "high", "tags": ["定制蛋糕"], "category": "booking"},
    "fields": [
        _field(
            "cake_size",
            "select",
            "蛋糕尺寸",
            "Cake size",
            required=True,
            options=_options(
                ("6inch", "6 寸", '6"'),
                ("8inch", "8 寸", '8"'),
                ("10inch", "10 寸", '10"'),
                ("12inch", "12 寸", '12"'),
            ),
            default="8inch",
        ),
        _field(
            "flavors",
            "multi_select",
            "口味",
            "Flavours",
            options=_options(
                ("cream", "动物奶油", "Fresh cream"),
                ("chocolate", "巧克力", "Chocolate"),
                ("mango", "芒果", "Mango"),
                ("matcha", "抹茶", "Matcha"),
            ),
            validation={"max": 2},
        ),
        _field("delivery_date", "date", "配送日期", "Delivery date", required=True),
        _field(
            "delivery_slot",
            "select",
            "配送时段",
            "Delivery slot",
            required=True,
            options=_options(
                ("morning", "上午 9:00-12:00", "Morning 9-12"),
                ("afternoon", "下午 13:00-18:00", "Afternoon 1-6"),
                ("evening", "晚上 18:00-21:00", "Evening 6-9"),
                ("pickup", "到店自提", "Pick up in store"),
            ),
        ),
        _field(
            "address",
            "location",
            "配送地址",
            "Delivery address",
            visible_when={"all": [{"field": "delivery_slot", "op": "ne", "value": "pickup"}]},
            required_when={"all": [{"field": "delivery_slot", "op": "ne", "value": "pickup"}]},
        ),
        _field("greeting", "text", "蛋糕祝福语", "Message on the cake", validation={"max_length": 20}),
        _field("special_notes", "textarea", "特殊备注", "Special notes", validation={"max_length": 500}),
        _field("deposit", "money", "定金", "Deposit", validation={"min": 0}),
        CONTACT_PHONE,
    ],
}

BANK_CARD: dict[str, Any] = {
    "key": "bank_card_application",
    "industry": "banking",
    "name": "银行卡申请",
    "description": "信用卡办卡申请：资料核验、风险评估、制卡配送等子任务由工作流拆分",
    "scenario": "presales",
    "defaults": {"priority": "normal", "tags": ["办卡"], "category": "card_service"},
    "fields": [
        _field(
            "applicant_name", "text", "申请人姓名", "Applicant", required=True, validation={"max_length": 50}
        ),
        _field(
            "id_number",
            "text",
            "身份证号",
            "ID card number",
            required=True,
            validation={"pattern": "^[0-9]{17}[0-9Xx]$"},
            roles={"agent": "read_only"},
        ),
        _field(
            "card_type",
            "select",
            "卡种",
            "Card type",
            required=True,
            options=_options(
                ("standard", "标准卡", "Standard"),
                ("gold", "金卡", "Gold"),
                ("platinum", "白金卡", "Platinum"),
            ),
        ),
        _field(
            "annual_income",
            "money",
            "年收入",
            "Annual income",
            required=True,
            validation={"min": 0},
            roles={"viewer": "hidden"},
        ),
        _field(
            "employer",
            "text",
            "工作单位",
            "Employer",
            required_when=_when("card_type", "in", ["gold", "platinum"]),
        ),
        _field(
            "id_photos",
            "image",
            "身份证正反面",
            "ID card photos",
            required=True,
            validation={"min": 2, "max": 2},
            # Uploaded by the branch or the app; the H5 form's photos travel with the message instead.
            channels=["web", "api", "console"],
        ),
        _field(
            "income_proof",
            "file",
            "收入证明",
            "Proof of income",
            visible_when=_when("card_type", "eq", "platinum"),
        ),
        _field("mailing_address", "location", "邮寄地址", "Mailing address", required=True),
        _field("email", "email", "电子邮箱", "E-mail"),
        _field("customer", "customer_ref", "关联客户", "Customer", channels=["console", "api"]),
        CONTACT_PHONE,
    ],
}

CAR_MAINTENANCE: dict[str, Any] = {
    "key": "car_maintenance_booking",
    "industry": "automotive",
    "name": "汽车保养预约",
    "description": "4S 店保养预约：车型、车牌、里程、保养项目与预约时间",
    "scenario": "aftersales",
    "defaults": {"priority": "normal", "tags": ["保养预约"], "category": "booking"},
    "fields": [
        _field(
            "car_model",
            "cascade",
            "品牌车型",
            "Make and model",
            required=True,
            options=[
                {
                    "value": "byd",
                    "label": _t("比亚迪", "BYD"),
                    "children": _options(("han", "汉", "Han"), ("song", "宋 PLUS", "Song PLUS")),
                },
                {
                    "value": "vw",
                    "label": _t("大众", "Volkswagen"),
                    "children": _options(("lavida", "朗逸", "Lavida"), ("passat", "帕萨特", "Passat")),
                },
            ],
        ),
        _field(
            "plate_number",
            "text",
            "车牌号",
            "Licence plate",
            required=True,
            validation={"pattern": "^[\u4e00-\u9fa5][A-Z][A-Z0-9]{5,6}$"},
        ),
        _field(
            "mileage", "number", "当前里程（公里）", "Mileage (km)", validation={"min": 0, "max": 2000000}
        ),
        _field(
            "services",
            "multi_select",
            "保养项目",
            "Services",
            required=True,
            options=_options(
                ("oil", "更换机油机滤", "Oil and filter"),
                ("tyres", "轮胎检查", "Tyre check"),
                ("brakes", "刹车检查", "Brake check"),
                ("battery", "电池检测", "Battery check"),
                ("other", "其他", "Other"),
            ),
        ),
        _field(
            "other_service",
            "text",
            "其他项目说明",
            "Other service",
            visible_when={"all": [{"field": "services", "op": "contains", "value": "other"}]},
            required_when={"all": [{"field": "services", "op": "contains", "value": "other"}]},
        ),
        _field("appointment_at", "datetime", "预约时间", "Appointment", required=True),
        _field(
            "needs_courtesy_car",
            "select",
            "需要代步车",
            "Courtesy car",
            options=_options(("no", "不需要", "No"), ("yes", "需要", "Yes")),
            default="no",
        ),
        CONTACT_PHONE,
    ],
}

COMPLAINT_QA: dict[str, Any] = {
    "key": "complaint_qa_review",
    "industry": "general",
    "name": "投诉处理（含质检复核）",
    "description": "客户投诉：等级、涉及订单、诉求与证据；处理结果由质检复核后结案",
    "scenario": "complaint",
    # A complaint's subject varies (a late parcel, a rude clerk, a faulty part): no category, so the
    # classifier picks it from the text or the agent does (the taxonomy has no "complaint" subject).
    "defaults": {"priority": "high", "tags": ["投诉"]},
    "fields": [
        _field(
            "severity",
            "select",
            "投诉等级",
            "Severity",
            required=True,
            options=_options(
                ("general", "一般", "General"),
                ("serious", "严重", "Serious"),
                ("media", "媒体/监管", "Media or regulator"),
            ),
            default="general",
        ),
        _field(
            "channel_of_complaint",
            "select",
            "投诉来源",
            "Complaint came through",
            options=_options(
                ("hotline", "热线", "Hotline"),
                ("wechat", "微信", "WeChat"),
                ("store", "门店", "Store"),
                ("regulator", "12315/监管", "12315 / regulator"),
            ),
        ),
        _field("order_number", "order_ref", "涉及订单", "Order concerned"),
        _field("demand", "textarea", "客户诉求", "What the customer asks for", required=True),
        _field("evidence", "file", "证据材料", "Evidence", validation={"max": 10}),
        _field(
            "compensation",
            "money",
            "补偿金额",
            "Compensation",
            validation={"min": 0},
            channels=["console", "api"],
            roles={"agent": "read_only"},
        ),
        _field(
            "qa_result",
            "select",
            "质检结果",
            "QA review",
            options=_options(("pass", "通过", "Passed"), ("rework", "退回重办", "Send back")),
            channels=["console"],
            roles={"agent": "read_only"},
        ),
        _field(
            "qa_comment",
            "textarea",
            "质检意见",
            "QA comment",
            channels=["console"],
            roles={"agent": "read_only"},
            required_when=_when("qa_result", "eq", "rework"),
        ),
        CONTACT_PHONE,
    ],
}

PRESETS: dict[str, dict[str, Any]] = {
    preset["key"]: preset
    for preset in (
        RETAIL_RETURN,
        LOGISTICS_QUERY,
        DEVICE_REPAIR,
        COURSE_REFUND,
        CAKE_ORDER,
        BANK_CARD,
        CAR_MAINTENANCE,
        COMPLAINT_QA,
    )
}
